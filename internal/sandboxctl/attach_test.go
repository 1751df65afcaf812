package sandboxctl

import (
	"context"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// rehearses is the decision a command in ws would get.
func rehearses(t *testing.T, ws workspace.Workspace) bool {
	t.Helper()
	d, err := Decide(context.Background(), ws, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if d.Rehearsal != (d.Records == PathsFor(ws).Records) {
		t.Fatalf("decision %+v: rehearsal and its records folder disagree", d)
	}
	return d.Rehearsal
}

// A second checkout attached to the first's sandbox uses it as its own: its tokens, its edge
// and its own rehearsal records; stopping there only detaches.
func TestAttachMakesASecondCheckoutRehearse(t *testing.T) {
	t.Setenv(BaseURLEnv, "")
	ctx := context.Background()
	first, second := scratch(t), scratch(t)
	rt, _ := serveInProcess(t, first)
	if rehearses(t, second) {
		t.Fatal("the second checkout uses a sandbox before attaching")
	}
	if _, err := Attach(ctx, second, rt.APIBaseURL()+"/"); err != nil {
		t.Fatal(err)
	}
	if !rehearses(t, second) {
		t.Fatal("attached, yet the second checkout does not rehearse")
	}
	ep, err := Resolve(ctx, second, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if !ep.Sandbox || ep.APIBaseURL != rt.APIBaseURL() {
		t.Fatalf("resolved %+v, want the first checkout's sandbox", ep)
	}
	if _, ok := ep.TokenFor(acctA); !ok {
		t.Fatal("the attached checkout has none of the sandbox's tokens")
	}
	was, err := Stop(ctx, second, quiet())
	if err != nil || was {
		t.Fatalf("stop in the attached checkout: %v %v, want a detach", was, err)
	}
	if rehearses(t, second) || !rehearses(t, first) {
		t.Fatal("detaching changed the wrong checkout")
	}
}

func TestAttachRefusesWhatIsNotALoopbackSandbox(t *testing.T) {
	ctx := context.Background()
	ws := scratch(t)
	for _, u := range []string{"https://api.cloudflare.com", "http://10.0.0.1:8787", "not a url", "http://127.0.0.1:1"} {
		if _, err := Attach(ctx, ws, u); err == nil {
			t.Errorf("attached to %q", u)
		}
	}
	if rehearses(t, ws) {
		t.Fatal("a refused attach left the checkout attached")
	}
}

// An explicit CLOUDFLARE_API_BASE_URL on the loopback that answers as a sandbox (another
// checkout's) is a rehearsal too: the sandbox's tokens, and this checkout's rehearsal records,
// never deployments/. One that does not answer as a sandbox stays an explicit, real-like API.
func TestExplicitURLOfASandboxIsARehearsal(t *testing.T) {
	first, second := scratch(t), scratch(t)
	rt, _ := serveInProcess(t, first)
	t.Setenv(BaseURLEnv, rt.APIBaseURL())
	d, err := Decide(context.Background(), second, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if !d.Rehearsal || d.Records != PathsFor(second).Records || d.Endpoint.Explicit {
		t.Fatalf("explicit URL of a running sandbox: want a rehearsal with %s, got %+v", PathsFor(second).Records, d)
	}
	if _, ok := d.Endpoint.TokenFor(acctA); !ok {
		t.Fatal("the sandbox's own tokens must be used, never a tenant's real one")
	}
	t.Setenv(BaseURLEnv, "http://127.0.0.1:1/client/v4")
	if rehearses(t, second) {
		t.Fatal("an explicit URL where no sandbox answers is not a rehearsal")
	}
}
