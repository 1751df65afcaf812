package menu_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/menu"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

func TestDocumentedReadsTheMenuTable(t *testing.T) {
	readme := "# x\n\n## The menu\n\n| command | what |\n|---|---|\n" +
		"| `go tool mage -l` | lists |\n" +
		"| `validate <tenant\\|all> [-json=true]` | checks |\n" +
		"| `deploy:all <env> [-parallel=N] [-only=a,b]` | all |\n" +
		"| `sandbox:start [-addr=127.0.0.1:PORT]` / `:stop` | sandbox |\n" +
		"\n## Next\n\n| `notinmenu [-x=1]` | no |\n"
	got, err := menu.Documented(readme)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"validate": {"json"}, "deploy:all": {"parallel", "only"}, "sandbox:start": {"addr"}, "sandbox:stop": nil}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
}

func TestHelpReadsTheFlagsSection(t *testing.T) {
	out := "Tenant deploys.\n\nUsage:\n\n\tmage deploy:tenant <tenantName> <env> [<flags>]\n\nFlags:\n\n" +
		"\t-dryRun=<bool>  print the plan\n\t-parallel=<int>\n"
	got := menu.Help(out)
	want := []menu.Flag{{Name: "dryRun", Type: "bool", Doc: "print the plan"}, {Name: "parallel", Type: "int"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// cheapArgs are positional arguments that make each target stop early (a refused tenant name,
// an unknown env) or do something harmless, so that every documented flag can be run through
// the compiled magefile in seconds: mage parses the flags before the target starts, so an
// unknown or mistyped flag fails there, whatever the arguments.
var cheapArgs = map[string][]string{
	"validate":       {"../bad"},
	"deploy:tenant":  {"../bad", "staging"},
	"deploy:all":     {"qa"},
	"deploy:status":  {"../bad", "staging"},
	"deploy:promote": {"../bad", "staging"},
	"deploy:abort":   {"../bad", "staging"},
	"drift":          {"../bad", "staging"},
	"rollback":       {"../bad", "staging"},
	"redeploy":       {"../bad", "deploy/x/production/1"},
	"history":        {"../bad", "staging"},
	"history:list":   {"../bad", "staging"},
	"auth:check":     {"../bad"},
	"build":          {"../bad"},
	"health":         {"../bad", "staging"},
	"smoke":          {"../bad", "staging"},
	"dev:start":      {"../bad"},
	"dev:stop":       {"../bad"},
	"tenants:list":   {},
	"tenants:matrix": {},
	"dev:status":     {},
	"sandbox:status": {},
	"history:stats":  {"../bad", "staging"},
	"fleet:status":   {"qa"},
	"preflight":      {"../bad", "staging"},
	"secrets:list":   {"../bad", "staging"},
	"secrets:put":    {"../bad", "staging", "AI_GATEWAY_TOKEN"},
	"secrets:sync":   {"../bad", "staging"},
	"lease:status":   {"../bad", "staging"},
	"lease:break":    {"../bad", "staging"},
}

// cheapValues are flag values the target itself refuses before doing anything, for the
// string flags of targets that take no positional argument to refuse.
var cheapValues = map[string]string{
	"ci.fuzzTime":          "not-a-duration",
	"test.fuzzTime":        "not-a-duration",
	"bench.only":           "nothing",
	"sandbox:start.addr":   "0.0.0.0:1",
	"bench.rounds":         "-1",
	"report:html.since":    "not-a-window",
	"history:verify.from":  "no-such-branch",
	"records:push.branch":  "main",
	"records:pull.branch":  "no-such-branch",
	"tenants:matrix.only":  "no-such-tenant",
	"tenants:matrix.chunk": "0",
}

// refuses reports whether some flag of target has a value the target refuses up front.
func refuses(target string) bool {
	for k := range cheapValues {
		if strings.HasPrefix(k, target+".") {
			return true
		}
	}
	return false
}

// aliases are README names that `mage -h` knows under their target's name.
var aliases = map[string]string{"history": "history:list"}

// TestMenuMatchesTheMagefile compiles the magefile once and holds it to the README's menu:
// every documented target exists, its flags are exactly those documented (each with a doc
// comment for `mage -h`), each documented flag is accepted by the compiled binary, and the
// `mage -l` listing is short lines with lint, typecheck, test, health and smoke in it.
func TestMenuMatchesTheMagefile(t *testing.T) {
	testrepo.NeedMage(t)
	repo := testrepo.Repo(t)
	readme, err := os.ReadFile(filepath.Join(repo.Root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented, err := menu.Documented(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	// A copy has its own magefiles/: no race on mage_output_file.go with the checkout.
	ws := testrepo.Copy(t, repo, testrepo.Options{Code: true})
	bin := testrepo.CompileMage(t, ws, "mage-menu")
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = ws.Root
		cmd.Env = testrepo.MageEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return string(out), ee.ExitCode()
			}
			t.Fatalf("%s %v: %v", bin, args, err)
		}
		return string(out), 0
	}

	list, code := run("-l")
	if code != 0 {
		t.Fatalf("mage -l: exit %d\n%s", code, list)
	}
	for _, line := range strings.Split(strings.TrimRight(list, "\n"), "\n") {
		if len(line) > 100 {
			t.Errorf("mage -l line longer than 100 characters (%d): %s", len(line), line)
		}
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(line, "  ") {
			listed[strings.ToLower(f[0])] = true
		}
	}
	for _, want := range []string{"lint", "typecheck", "test", "health", "smoke", "ci"} {
		if !listed[want] {
			t.Errorf("mage -l does not list %s:\n%s", want, list)
		}
	}

	// secrets:sync's file (issue 21): duplicate names and trailing data are refused before
	// anything is read from Cloudflare, and so is a link into the work tree git does not ignore.
	syncDir := t.TempDir()
	dupFile := filepath.Join(syncDir, "dup.json")
	trailFile := filepath.Join(syncDir, "trail.json")
	linkFile := filepath.Join(syncDir, "link.json")
	if err := os.WriteFile(dupFile, []byte(`{"AI_GATEWAY_TOKEN":"first-value","AI_GATEWAY_TOKEN":"second-value"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trailFile, []byte(`{"AI_GATEWAY_TOKEN":"first-value"}{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(ws.Root, "package.json"), linkFile); err != nil {
		t.Fatal(err)
	}
	// The targets parse their tenant and env first, once (the magefile's request and its
	// siblings), and refuse a bad one with its reason before anything runs.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"history:stats", "../x", "all"}, "invalid tenant name"},
		{[]string{"history:stats", "all", "qa"}, "invalid environment \"qa\": use dev, staging or production (prod) (or all)"},
		{[]string{"history", "../x", "staging"}, "invalid tenant name"},
		{[]string{"history", "mrrainbowsmoke", "Staging"}, `did you mean "staging"`},
		{[]string{"secrets:list", "../x", "staging"}, `(or use "all")`},
		{[]string{"secrets:put", "mrrainbowsmoke", "qa", "AI_GATEWAY_TOKEN"}, "invalid environment"},
		{[]string{"secrets:sync", "all", "staging"}, "reserved for every tenant"},
		// Issue 21: every number flag refuses NaN and infinities and says what is wrong, and
		// every flag is refused before the tree's checks run (their lines start "checks:").
		{[]string{"deploy:tenant", "mrrainbowsmoke", "staging", "-rollout=NaN,100"}, "not a number"},
		{[]string{"deploy:tenant", "mrrainbowsmoke", "staging", "-rollout=10,+Inf"}, "not a number"},
		{[]string{"deploy:tenant", "mrrainbowsmoke", "staging", "-rollout=10,100", "-bake=-1s"}, "negative"},
		{[]string{"deploy:all", "staging", "-waves=NaN%,100%"}, "not a number"},
		{[]string{"deploy:all", "staging", "-waves=0,100%"}, "a wave deploys 1 or more"},
		{[]string{"deploy:all", "staging", "-parallel=0"}, "must be 1 or more"},
		{[]string{"deploy:all", "staging", "-rollout=-Inf,100"}, "not a number"},
		{[]string{"deploy:all", "staging", "-waves=1,100%", "-bake=-5m"}, "negative"},
		{[]string{"deploy:all", "staging", "-only=nosuchtenant"}, "nosuchtenant"},
		{[]string{"history:stats", "all", "all", "-since=NaNd"}, "-since"},
		{[]string{"history:stats", "all", "all", "-since=99999999999999d"}, "too far back"},
		{[]string{"secrets:sync", "mrrainbowsmoke", "staging", "-from=" + dupFile}, "appears twice"},
		{[]string{"secrets:sync", "mrrainbowsmoke", "staging", "-from=" + trailFile}, "more after its JSON object"},
		{[]string{"secrets:sync", "mrrainbowsmoke", "staging", "-from=" + linkFile}, "git does not ignore"},
	} {
		out, code := run(c.args...)
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, want a refusal saying %q:\n%s", c.args, code, c.want, out)
		}
		if strings.Contains(out, "checks:") || strings.Contains(out, "not a duration") && strings.Contains(c.want, "negative") {
			t.Errorf("%v: refused only after the tree's checks, or with the wrong reason:\n%s", c.args, out)
		}
	}

	for target, docFlags := range documented {
		t.Run(target, func(t *testing.T) {
			name := target
			if a, ok := aliases[target]; ok {
				name = a
			}
			help, code := run("-h", name)
			if code != 0 {
				t.Fatalf("the README documents %s, but `mage -h %s` fails (exit %d):\n%s", target, target, code, help)
			}
			accepted := menu.Help(help)
			var names []string
			for _, f := range accepted {
				names = append(names, f.Name)
				if f.Doc == "" {
					t.Errorf("flag -%s of %s has no doc comment for `mage -h`", f.Name, target)
				}
				if !slices.Contains(docFlags, f.Name) {
					t.Errorf("flag -%s of %s is accepted but not in the README's menu", f.Name, target)
				}
			}
			for _, f := range docFlags {
				if !slices.Contains(names, f) {
					t.Errorf("the README documents -%s for %s, but `mage -h %s` lists only %v", f, target, target, names)
				}
			}
			args := cheapArgs[target]
			for _, f := range accepted {
				val, ok := cheapValues[target+"."+f.Name]
				switch {
				case ok:
				case f.Type == "bool":
					val = "true"
				case f.Type == "int":
					val = "2"
				default:
					val = "x"
				}
				if _, safe := cheapArgs[target]; !safe && !refuses(target) {
					t.Errorf("no cheap way to run %s -%s: add it to cheapArgs or cheapValues", target, f.Name)
					continue
				}
				invocation := append([]string{target}, args...)
				if _, safe := cheapArgs[target]; !safe {
					// The other flags' refused values come along, so that the flag under
					// test (a -json, a -remote) does not run the target for real.
					for _, g := range accepted {
						if v, ok := cheapValues[target+"."+g.Name]; ok && g.Name != f.Name {
							invocation = append(invocation, "-"+g.Name+"="+v)
						}
					}
				}
				invocation = append(invocation, "-"+f.Name+"="+val)
				out, _ := run(invocation...)
				for _, bad := range []string{"unknown option", "invalid option", "can't convert"} {
					if strings.Contains(out, bad) {
						t.Errorf("%v: the magefile refuses the documented flag:\n%s", invocation, out)
					}
				}
			}
		})
	}
}
