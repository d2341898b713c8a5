#!/usr/bin/env python3
"""Lint template.yaml as CloudFormation will see it.

`sam deploy` sends the template to CloudFormation, which runs the SAM
transform (aws-sam-translator) and then deploys the result. This script
does the same transform offline and runs cfn-lint on the source template
and on the transformed one, so what only shows after the transform (a
circular dependency through the HTTP API's generated body, for example)
fails here rather than in a deploy.

    scripts/lint-template.py [TEMPLATE] [--output FILE]

Exit status: 0 when cfn-lint reports no error (warnings are printed and
do not fail), 1 when it reports one, 2 when the transform itself fails.
Run it with the Python that has the pinned aws-sam-translator and
cfn-lint (`make lint-template` uses .venv's).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

# The translator reads the region from boto's session; no credentials are
# needed, none are looked for.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402  (installed with aws-sam-translator)
from samtranslator.parser import parser  # noqa: E402
from samtranslator.public.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.translator import Translator  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

# What `sam package` would upload: the resource types whose local code
# paths it replaces with S3 locations, and the property that holds them.
PACKAGED = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def package(template):
    """Replace local code paths with S3 URIs, as `sam package` does."""
    for logical_id, resource in (template.get("Resources") or {}).items():
        prop = PACKAGED.get(resource.get("Type"))
        if not prop:
            continue
        props = resource.setdefault("Properties", {})
        value = props.get(prop)
        if isinstance(value, str) and not value.startswith("s3://"):
            props[prop] = "s3://zohoconnect-lint-artifacts/%s.zip" % logical_id


def transform(path):
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    package(template)
    translator = Translator(
        managed_policy_map={},
        sam_parser=parser.Parser(),
        boto_session=boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"]),
    )
    return translator.translate(
        sam_template=template,
        parameter_values={},
        get_managed_policy_map=lambda: {},
    )


def cfn_lint():
    here = os.path.join(os.path.dirname(sys.executable), "cfn-lint")
    return here if os.access(here, os.X_OK) else shutil.which("cfn-lint")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("template", nargs="?", default="template.yaml")
    ap.add_argument("--output", default=".cache/template.transformed.json",
                    help="where to write the transformed template (default %(default)s)")
    args = ap.parse_args()

    try:
        transformed = transform(args.template)
    except InvalidDocumentException as e:
        for cause in e.causes:
            print("lint-template: SAM transform: %s" % cause.message, file=sys.stderr)
        return 2
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(transformed, f, indent=1, sort_keys=False)
        f.write("\n")

    exe = cfn_lint()
    if not exe:
        print("lint-template: no cfn-lint next to %s nor on PATH" % sys.executable, file=sys.stderr)
        return 2
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    print("lint-template: %s on %s and on its SAM transform (%s)" % (version, args.template, args.output))
    # One run for both files: cfn-lint's start-up is most of its time.
    rc = subprocess.run([exe, "--non-zero-exit-code", "error", "--", args.template, args.output]).returncode
    if rc != 0:
        print("lint-template: cfn-lint reported errors (above)", file=sys.stderr)
        return 1
    print("lint-template: no errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
