package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/zohoconnect/zohoconnect/internal/admin"
	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/config"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/internal/oauthclient"
	"github.com/zohoconnect/zohoconnect/internal/tokentable"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

var cmdConnectionsList = &command{
	group: "connections", name: "list",
	args:    "[-tenant ID] [-status active|reauth_required|disconnected] [-json]",
	summary: "List the connections: DC, environment, org, status, access token expiry, user.",
	help: `Without -tenant, reads the whole connections table with a paginated
Scan. A Scan reads, and is billed for, every item whatever -status keeps:
about one read unit per 4 KB of connections (a connection is well under
1 KB); the read units used are reported on stderr. With -tenant, reads only
that tenant's connections, through the table's tenant index (a Query).`,
	needs: []string{envConnectionsTable},
	run:   runConnectionsList,
}

var cmdConnectionsShow = &command{
	group: "connections", name: "show",
	args:    "ID [-json]",
	summary: "Show every field of one connection, and whether its two token secrets exist.",
	help: `Never shows a token or the submission key (only the key's id). The token
secrets are looked at with DescribeSecret, which does not read their values.`,
	needs: []string{envConnectionsTable, envTokenPrefix},
	run:   runConnectionsShow,
}

var cmdConnectionsDisconnect = &command{
	group: "connections", name: "disconnect",
	args:    "ID [-yes] [-strict] [-json]",
	summary: "Revoke the connection's refresh token at Zoho, mark it disconnected, delete its token secrets.",
	help: `The refresh token is revoked at the accounts server of the connection's
own DC, with the OAuth client from ZOHO_CLIENT_SECRET_ID. If Zoho cannot be
reached, that is reported and the rest goes on (the stored token is deleted,
so nobody here can use it; the customer can also remove the app in Zoho's
Connected Apps), unless -strict, which then stops with nothing changed.
The connection keeps its id and history; its status becomes "disconnected"
(reason "disconnected by operator"), so the refresh schedule skips it and its
submissions are refused. Connecting the org again makes it active with a new
submission key. Running disconnect again finishes one that stopped half way.
Asks for confirmation unless -yes (which scripts must pass).`,
	needs: []string{envConnectionsTable, envTokenPrefix, envClientSecret},
	run:   runConnectionsDisconnect,
}

var cmdConnectionsRotateKey = &command{
	group: "connections", name: "rotate-key",
	args:    "ID [-yes] [-json]",
	summary: "Mint a new submission key for a connection; the old key stops working at once.",
	help: `The new key is printed to stdout, alone on its line (or as JSON with
-json), this once: it is stored nowhere, only its id and hash are. Give it to
whoever posts the connection's submissions. Asks for confirmation unless
-yes (which scripts must pass): whatever posts with the old key fails from
then on.`,
	needs: []string{envConnectionsTable, envKeySecret},
	run:   runConnectionsRotateKey,
}

var cmdConnectionsSetMapping = &command{
	group: "connections", name: "set-mapping",
	args:    "ID (field=Zoho_Field ... | -clear [-yes] | -file mapping.json) [-json]",
	summary: "Set (replace) the connection's field mapping: posted field name → Zoho field API name.",
	help: `A mapping entry beats the standard and common field names when a
submission is turned into a CRM record. Zoho API names are letters, digits
and underscores, starting with a capital letter (Last_Name, Custom_Field_1).
-file reads a JSON object {"your-name": "Last_Name", ...}; -file - reads stdin.
-clear removes the mapping, and asks for confirmation unless -yes.`,
	needs: []string{envConnectionsTable},
	run:   runConnectionsSetMapping,
}

var cmdConnectionsSetConcurrency = &command{
	group: "connections", name: "set-concurrency",
	args:    "ID N [-json]",
	summary: "Set the most CRM calls sync makes to the connection's org at once (0: its edition's limit).",
	help: `By default sync keeps to the limit of the org's edition, read from Zoho
when the org was connected (Free 5, Standard 10, Professional 15, Enterprise
20, Ultimate 25; 5 when not known). N from 1 to 25 replaces it, for every
instance at once (the concurrency table); 0 goes back to the edition's. The
product API's PATCH /connections/{id} {"concurrency_limit": N} does the same.`,
	needs: []string{envConnectionsTable},
	run:   runConnectionsSetConcurrency,
}

func runConnectionsSetConcurrency(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	asJSON := fs.Bool("json", false, "print the stored setting as one JSON object")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return usagef(cmd, "a connection ID and a limit are required")
	}
	id, err := connectionID(cmd, rest[:1])
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(rest[1])
	if err != nil || n < 0 || n > admin.MaxConcurrencyLimit {
		return usagef(cmd, "%v", admin.ErrBadConcurrencyLimit)
	}
	svc, err := c.connections(ctx, cmd, nil)
	if err != nil {
		return err
	}
	conn, err := svc.SetConcurrencyLimit(ctx, id, n)
	if errors.Is(err, connection.ErrNotFound) {
		return fmt.Errorf("connection %s: %w", id, err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return jsonLine(c.stdout, map[string]any{"connection_id": id, "concurrency_limit": conn.ConcurrencyLimit, "edition": conn.Edition})
	}
	edition := conn.Edition
	if edition == "" {
		edition = "not known"
	}
	if n == 0 {
		_, err = fmt.Fprintf(c.stdout, "%s: the edition's limit (edition %s)\n", id, edition)
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s: at most %d CRM calls at once (edition %s)\n", id, n, edition)
	return err
}

// connectionService builds the parts of the use cases that need the
// connections table and, with a prefix, the token secrets.
// connections reads the settings cmd needs (and optional ones) and builds
// the connections service on them.
func (c *cli) connections(ctx context.Context, cmd *command, optional []string) (*admin.Service, error) {
	s, err := c.settings(ctx, cmd, cmd.needs, append(optional, tokenStoreSettings...))
	if err != nil {
		return nil, err
	}
	return c.connectionService(ctx, s)
}

func (c *cli) connectionService(ctx context.Context, s settings) (*admin.Service, error) {
	cfg, err := c.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(cfg)
	store := awsstore.NewConnectionStore(db, s[envConnectionsTable])
	store.Now = c.now
	svc := &admin.Service{
		Connections: store,
		Lister:      store,
		Pages:       store,
		Now:         c.now,
	}
	if s[envTokenPrefix] != "" || s[envClientSecret] != "" || s[envKeySecret] != "" {
		sm := secretsmanager.NewFromConfig(cfg)
		svc.Secrets = &awsstore.TokenSecretInspector{SM: sm, Prefix: s[envTokenPrefix]}
		svc.Tokens = &awsstore.TokenVault{SM: sm, Prefix: s[envTokenPrefix]}
		if s[envTokenStore] == config.TokenStoreDynamoDB {
			table := tokentable.New(tokenStoreOf(s), dynamodb.NewFromConfig(cfg), kms.NewFromConfig(cfg))
			svc.Tokens, svc.Secrets = table, table
		}
		if s[envKeySecret] != "" {
			svc.Keys = &connection.KeySource{Secret: &awsstore.CachedSecret{SM: sm, ID: s[envKeySecret], TTL: time.Minute}}
		}
		if s[envClientSecret] != "" {
			hc, err := zoho.NewHTTPClient(zoho.HTTPOptions{EndpointOverride: s[envZohoOverride]})
			if err != nil {
				return nil, usagef(nil, "%s: %v", envZohoOverride, err)
			}
			if s[envZohoOverride] != "" {
				fmt.Fprintf(c.stderr, "%s: %s is set: Zoho requests go to %s instead of Zoho\n", name, envZohoOverride, s[envZohoOverride])
			}
			svc.OAuth = &oauthclient.Source{Secret: &awsstore.CachedSecret{SM: sm, ID: s[envClientSecret], TTL: time.Minute}, HTTP: hc}
		}
	}
	return svc, nil
}

func parseStatus(cmd *command, s string) (connection.Status, error) {
	switch st := connection.Status(strings.ToLower(strings.TrimSpace(s))); st {
	case "", connection.Active, connection.ReauthRequired, connection.Disconnected:
		return st, nil
	}
	return "", usagef(cmd, "-status %q: want active, reauth_required or disconnected", s)
}

func runConnectionsList(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	status := fs.String("status", "", "only connections of this status: active, reauth_required or disconnected")
	tenant := fs.String("tenant", "", "only this tenant's connections (through the tenant index)")
	asJSON := fs.Bool("json", false, "one JSON object per connection and line")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(cmd, rest); err != nil {
		return err
	}
	st, err := parseStatus(cmd, *status)
	if err != nil {
		return err
	}
	if *tenant != "" && !connection.ValidTenantID(*tenant) {
		return usagef(cmd, "-tenant: a tenant id is 1 to 128 of A-Za-z0-9._:@-")
	}
	svc, err := c.connections(ctx, cmd, nil)
	if err != nil {
		return err
	}
	var cs []*connection.Connection
	var stats awsstore.ScanStats
	pages := 0
	if *tenant != "" {
		cs, pages, err = svc.ListTenant(ctx, *tenant, st)
	} else {
		cs, stats, err = svc.List(ctx, st)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		for _, conn := range cs {
			if err := jsonLine(c.stdout, toJSON(conn, nil)); err != nil {
				return err
			}
		}
	} else if len(cs) > 0 {
		if err := connectionsTable(c.stdout, cs, c.now()); err != nil {
			return err
		}
	}
	which := "connection"
	if st != "" {
		which = string(st) + " connection"
	}
	if *tenant != "" {
		fmt.Fprintf(c.stderr, "%s: %s of tenant %s (the tenant index, %s)\n", name, plural(len(cs), which), *tenant, plural(pages, "query"))
		return nil
	}
	fmt.Fprintf(c.stderr, "%s: %s (scanned %s in %s, %.1f read units)\n",
		name, plural(len(cs), which), plural(stats.Scanned, "item"), plural(stats.Pages, "request"), stats.CapacityUsed)
	return nil
}

func runConnectionsShow(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	asJSON := fs.Bool("json", false, "print the connection as one JSON object")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	id, err := connectionID(cmd, rest)
	if err != nil {
		return err
	}
	svc, err := c.connections(ctx, cmd, nil)
	if err != nil {
		return err
	}
	d, err := svc.Show(ctx, id)
	if errors.Is(err, connection.ErrNotFound) {
		return fmt.Errorf("connection %s: %w", id, err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return jsonLine(c.stdout, toJSON(d.Connection, d.Secrets))
	}
	return connectionDetail(c.stdout, d, c.now())
}

func runConnectionsDisconnect(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	strict := fs.Bool("strict", false, "stop, changing nothing, when Zoho does not confirm the revocation")
	asJSON := fs.Bool("json", false, "print the outcome as one JSON object")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	id, err := connectionID(cmd, rest)
	if err != nil {
		return err
	}
	if !*yes && !c.terminal {
		return usagef(cmd, "this asks for confirmation and stdin is not a terminal: pass -yes")
	}
	svc, err := c.connections(ctx, cmd, []string{envZohoOverride})
	if err != nil {
		return err
	}
	conn, err := svc.Get(ctx, id)
	if errors.Is(err, connection.ErrNotFound) {
		return fmt.Errorf("connection %s: %w", id, err)
	}
	if err != nil {
		return err
	}
	if !*yes {
		q := fmt.Sprintf("Disconnect %s, org %s (%s %s, status %s)?\nIts refresh token is revoked at Zoho and its token secrets are deleted; the customer must connect again.",
			id, org(conn), clean(conn.Location), clean(conn.Environment), conn.Status)
		if err := c.confirm(cmd, q); err != nil {
			return err
		}
	}
	res, err := svc.Disconnect(ctx, id, *strict)
	if res != nil {
		if *asJSON {
			out := map[string]any{"connection_id": id, "status": string(res.Connection.Status), "revoke": string(res.Revoke), "secrets_deleted": res.SecretsDeleted}
			if res.RevokeErr != nil {
				out["revoke_error"] = res.RevokeErr.Error()
			}
			if jerr := jsonLine(c.stdout, out); jerr != nil && err == nil {
				err = jerr
			}
		} else {
			t := newTable(c.stdout)
			row(t, "connection", id)
			row(t, "status", clean(string(res.Connection.Status)))
			row(t, "refresh token", revokeText(res, conn))
			row(t, "token secrets", map[bool]string{true: "deleted", false: "not deleted"}[res.SecretsDeleted])
			if ferr := t.Flush(); ferr != nil && err == nil {
				err = ferr
			}
		}
		if res.Revoke == admin.RevokeFailed && err == nil {
			fmt.Fprintf(c.stderr, "%s: warning: the refresh token of %s was not revoked at Zoho: %v\n"+
				"  It is deleted here, so nobody here can use it; the customer can remove the app under Zoho's Connected Apps.\n",
				name, id, res.RevokeErr)
		}
	}
	if errors.Is(err, connection.ErrNotFound) {
		return fmt.Errorf("connection %s: %w", id, err)
	}
	return err
}

func revokeText(res *admin.DisconnectResult, conn *connection.Connection) string {
	switch res.Revoke {
	case admin.Revoked:
		return "revoked at " + clean(conn.AccountsServer)
	case admin.NoRefreshToken:
		return "none stored, nothing to revoke"
	case admin.AlreadyInvalid:
		return "already invalid at Zoho"
	}
	return "NOT revoked: " + clean(fmt.Sprint(res.RevokeErr))
}

func runConnectionsRotateKey(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	asJSON := fs.Bool("json", false, `print {"connection_id","submission_key_id","submission_key"}`)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	id, err := connectionID(cmd, rest)
	if err != nil {
		return err
	}
	svc, err := c.connections(ctx, cmd, nil)
	if err != nil {
		return err
	}
	if !*yes && !c.terminal {
		return usagef(cmd, "this asks for confirmation and stdin is not a terminal: pass -yes")
	}
	if !*yes {
		conn, err := svc.Get(ctx, id)
		if errors.Is(err, connection.ErrNotFound) {
			return fmt.Errorf("connection %s: %w", id, err)
		}
		if err != nil {
			return err
		}
		if err := c.confirm(cmd, fmt.Sprintf("Rotate the submission key of %s, org %s?\nThe current key stops working at once: whatever posts with it fails until it has the new one.", id, org(conn))); err != nil {
			return err
		}
	}
	key, conn, err := svc.RotateKey(ctx, id)
	if errors.Is(err, connection.ErrNotFound) {
		return fmt.Errorf("connection %s: %w", id, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "%s: new submission key of %s (org %s); the old key no longer works. It is shown this once:\n", name, id, org(conn))
	if conn.Status != connection.Active {
		fmt.Fprintf(c.stderr, "%s: note: the connection is %s; submissions are held or refused until it is connected again\n", name, conn.Status)
	}
	if *asJSON {
		return jsonLine(c.stdout, map[string]string{"connection_id": id, "submission_key_id": conn.SubmissionKeyID, "submission_key": key})
	}
	_, err = fmt.Fprintln(c.stdout, key)
	return err
}

func runConnectionsSetMapping(ctx context.Context, c *cli, cmd *command, args []string) error {
	fs := c.flagSet(cmd)
	clearAll := fs.Bool("clear", false, "remove the mapping")
	yes := fs.Bool("yes", false, "with -clear: do not ask for confirmation")
	file := fs.String("file", "", "read the mapping from this JSON file (- for stdin)")
	asJSON := fs.Bool("json", false, "print the stored mapping as one JSON object")
	rest, err := c.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef(cmd, "a connection ID is required")
	}
	id, err := connectionID(cmd, rest[:1])
	if err != nil {
		return err
	}
	pairs := rest[1:]
	forms := 0
	for _, given := range []bool{len(pairs) > 0, *clearAll, *file != ""} {
		if given {
			forms++
		}
	}
	if forms != 1 {
		return usagef(cmd, "give the mapping as field=Zoho_Field arguments, or -clear, or -file (exactly one)")
	}
	if *clearAll && !*yes && !c.terminal {
		return usagef(cmd, "-clear asks for confirmation and stdin is not a terminal: pass -yes")
	}
	var m map[string]string
	switch {
	case *clearAll:
		m = map[string]string{}
		if !*yes {
			if err := c.confirm(cmd, fmt.Sprintf("Remove the field mapping of %s?\nSubmissions are then mapped by the standard field names only.", id)); err != nil {
				return err
			}
		}
	case *file != "":
		b, err := readFile(c, *file)
		if err != nil {
			return usagef(cmd, "-file: %v", err)
		}
		if m, err = admin.ParseMappingJSON(b); err != nil {
			return usagef(cmd, "%s: %v", *file, err)
		}
	default:
		if m, err = admin.ParseMappingArgs(pairs); err != nil {
			return usagef(cmd, "%v", err)
		}
	}
	svc, err := c.connections(ctx, cmd, nil)
	if err != nil {
		return err
	}
	conn, err := svc.SetMapping(ctx, id, m)
	if errors.Is(err, connection.ErrNotFound) {
		return fmt.Errorf("connection %s: %w", id, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "%s: field mapping of %s set: %s\n", name, id, plural(len(conn.FieldMapping), "entry"))
	if *asJSON {
		out := conn.FieldMapping
		if out == nil {
			out = map[string]string{}
		}
		return jsonLine(c.stdout, map[string]any{"connection_id": id, "field_mapping": out})
	}
	_, err = fmt.Fprintln(c.stdout, mappingText(conn.FieldMapping))
	return err
}

// maxMappingFile bounds a mapping file.
const maxMappingFile = 1 << 20

func readFile(c *cli, path string) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = c.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxMappingFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMappingFile {
		return nil, fmt.Errorf("over %d bytes", maxMappingFile)
	}
	return b, nil
}
