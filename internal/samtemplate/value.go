package samtemplate

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Value is a raw template value: a literal, or an intrinsic function in its
// short (!Ref X) or long ({"Ref": "X"}) form.
type Value struct {
	node *yaml.Node
}

// IsZero reports whether the value is absent from the template.
func (v Value) IsZero() bool { return v.node == nil }

// Node is the raw YAML node (nil when absent).
func (v Value) Node() *yaml.Node { return v.node }

// Literal is the value of an untagged scalar.
func (v Value) Literal() (string, bool) {
	if v.node == nil || v.node.Kind != yaml.ScalarNode || isIntrinsicTag(v.node.Tag) {
		return "", false
	}
	return v.node.Value, true
}

// Ref is the name a !Ref names.
func (v Value) Ref() (string, bool) {
	fn, arg := v.intrinsic()
	if fn != "Ref" || arg.Kind != yaml.ScalarNode {
		return "", false
	}
	return arg.Value, true
}

// GetAtt is the [logical id, attribute] a !GetAtt names.
func (v Value) GetAtt() ([2]string, bool) {
	fn, arg := v.intrinsic()
	if fn != "Fn::GetAtt" {
		return [2]string{}, false
	}
	switch arg.Kind {
	case yaml.ScalarNode:
		id, attr, ok := strings.Cut(arg.Value, ".")
		return [2]string{id, attr}, ok
	case yaml.SequenceNode:
		if len(arg.Content) == 2 {
			return [2]string{arg.Content[0].Value, arg.Content[1].Value}, true
		}
	}
	return [2]string{}, false
}

// String shows the value as it would read in the template, for messages.
func (v Value) String() string {
	if v.node == nil {
		return "<absent>"
	}
	if s, ok := v.Literal(); ok {
		return s
	}
	b, err := yaml.Marshal(v.node)
	if err != nil {
		return "<unprintable>"
	}
	return strings.TrimSpace(string(b))
}

// Resolve computes the value from vars:
//
//   - a literal is itself;
//   - !Ref X is vars[X] (a parameter, a pseudo parameter such as
//     AWS::Region, or whatever the caller made for resource X: a table
//     name, a secret ARN, a queue URL);
//   - !GetAtt X.Attr is vars["X.Attr"];
//   - !Sub "..." replaces ${Name} and ${X.Attr} from vars (and ${!Literal}
//     with ${Literal}); the two-argument form resolves its own variables
//     first;
//   - !Join [sep, [values...]] joins resolved values;
//   - !If [Condition, a, b] resolves a or b by vars[ConditionVar(Condition)]
//     ("true" or "false": Template.SetConditions puts them there), and
//     only that one.
//
// Anything else (or a name missing from vars) is an error naming it.
func (v Value) Resolve(vars map[string]string) (string, error) {
	if v.node == nil {
		return "", fmt.Errorf("value is absent")
	}
	if s, ok := v.Literal(); ok {
		return s, nil
	}
	fn, arg := v.intrinsic()
	switch fn {
	case "Ref":
		if arg.Kind != yaml.ScalarNode {
			return "", fmt.Errorf("!Ref of a non-scalar")
		}
		s, ok := vars[arg.Value]
		if !ok {
			return "", fmt.Errorf("no local value for !Ref %s", arg.Value)
		}
		return s, nil
	case "Fn::GetAtt":
		ga, ok := v.GetAtt()
		if !ok {
			return "", fmt.Errorf("malformed !GetAtt")
		}
		key := ga[0] + "." + ga[1]
		s, ok := vars[key]
		if !ok {
			return "", fmt.Errorf("no local value for !GetAtt %s", key)
		}
		return s, nil
	case "Fn::Sub":
		return resolveSub(arg, vars)
	case "Fn::Join":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 || arg.Content[1].Kind != yaml.SequenceNode {
			return "", fmt.Errorf("malformed !Join")
		}
		parts := make([]string, 0, len(arg.Content[1].Content))
		for _, p := range arg.Content[1].Content {
			s, err := (Value{node: p}).Resolve(vars)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, arg.Content[0].Value), nil
	case "Fn::If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 || arg.Content[0].Kind != yaml.ScalarNode {
			return "", fmt.Errorf("malformed !If")
		}
		switch vars[ConditionVar(arg.Content[0].Value)] {
		case "true":
			return (Value{node: arg.Content[1]}).Resolve(vars)
		case "false":
			return (Value{node: arg.Content[2]}).Resolve(vars)
		}
		return "", fmt.Errorf("!If: no local value for condition %s", arg.Content[0].Value)
	case "":
		return "", fmt.Errorf("not a scalar: %s", v)
	default:
		return "", fmt.Errorf("%s is not resolved locally", fn)
	}
}

func resolveSub(arg *yaml.Node, vars map[string]string) (string, error) {
	switch arg.Kind {
	case yaml.ScalarNode:
		return substitute(arg.Value, vars)
	case yaml.SequenceNode:
		if len(arg.Content) != 2 || arg.Content[0].Kind != yaml.ScalarNode || arg.Content[1].Kind != yaml.MappingNode {
			return "", fmt.Errorf("malformed !Sub")
		}
		local := make(map[string]string, len(vars)+len(arg.Content[1].Content)/2)
		for k, v := range vars {
			local[k] = v
		}
		for _, kv := range pairs(arg.Content[1]) {
			s, err := (Value{node: kv.value}).Resolve(vars)
			if err != nil {
				return "", fmt.Errorf("!Sub variable %s: %w", kv.key, err)
			}
			local[kv.key] = s
		}
		return substitute(arg.Content[0].Value, local)
	}
	return "", fmt.Errorf("malformed !Sub")
}

func substitute(s string, vars map[string]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("!Sub: unclosed ${ in %q", s)
		}
		name := s[i+2 : i+j]
		s = s[i+j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		val, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("!Sub: no local value for ${%s}", name)
		}
		b.WriteString(val)
	}
}

// intrinsic names the intrinsic function of the value ("Ref", "Fn::Sub",
// ...) and its argument, for either form; "" when it is not one.
func (v Value) intrinsic() (string, *yaml.Node) {
	n := v.node
	if n == nil {
		return "", nil
	}
	if isIntrinsicTag(n.Tag) {
		name := strings.TrimPrefix(n.Tag, "!")
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		// The short form's argument is the node itself without its tag.
		arg := *n
		arg.Tag = ""
		switch arg.Kind {
		case yaml.ScalarNode:
			arg.Tag = "!!str"
		case yaml.SequenceNode:
			arg.Tag = "!!seq"
		case yaml.MappingNode:
			arg.Tag = "!!map"
		}
		return name, &arg
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, n.Content[1]
		}
	}
	return "", nil
}

func isIntrinsicTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}
