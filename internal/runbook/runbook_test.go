package runbook

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	md := "# t\n\n<!-- runbook-test -->\n```sh\necho one\n```\n\n```sh\necho untested\n```\n\n" +
		"```markdown\n<!-- runbook-test -->\n```sh\nnot a block\n```\n\n<!-- runbook-test -->\n```bash title=x\necho two\n```\n"
	blocks, err := Parse("x.md", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	var tested, all []string
	for _, b := range blocks {
		all = append(all, strings.TrimSpace(b.Script))
		if b.Tested {
			tested = append(tested, strings.TrimSpace(b.Script))
		}
	}
	if strings.Join(tested, "|") != "echo one|echo two" {
		t.Errorf("tested = %q", tested)
	}
	if strings.Join(all, "|") != "echo one|echo untested|echo two" {
		t.Errorf("all = %q", all)
	}
}

func TestParseRefusesLooseMarkers(t *testing.T) {
	for name, md := range map[string]string{
		"marker before prose": "<!-- runbook-test -->\nsome text\n```sh\nx\n```\n",
		"marker before json":  "<!-- runbook-test -->\n```json\n{}\n```\n",
		"marker at end":       "text\n<!-- runbook-test -->\n",
		"fence never closed":  "```sh\necho\n",
	} {
		if _, err := Parse("x.md", []byte(md)); err == nil || !strings.Contains(err.Error(), "x.md:") {
			t.Errorf("%s: err = %v, want one naming the place", name, err)
		}
	}
}

// The rollback runbook keeps enough tested blocks to cover identify, find, act and verify.
func TestRollbackRunbookHasTestedBlocks(t *testing.T) {
	script, n, err := Tested("../../docs/runbooks/rollback-deployment.md")
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Fatalf("only %d tested blocks", n)
	}
	for _, want := range []string{"go tool mage history ", "go tool mage history:verify", "go tool mage rollback ", "-to=", "go tool mage redeploy ", "go tool mage auth:check"} {
		if !strings.Contains(script, want) {
			t.Errorf("tested blocks never run %q", want)
		}
	}
}
