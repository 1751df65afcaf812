package cfcontract

import (
	"reflect"

	"github.com/cloudflare/cloudflare-go/v6/accounts"
	"github.com/cloudflare/cloudflare-go/v6/durable_objects"
	"github.com/cloudflare/cloudflare-go/v6/kv"
	"github.com/cloudflare/cloudflare-go/v6/memberships"
	"github.com/cloudflare/cloudflare-go/v6/packages/pagination"
	"github.com/cloudflare/cloudflare-go/v6/user"
	"github.com/cloudflare/cloudflare-go/v6/vectorize"
	"github.com/cloudflare/cloudflare-go/v6/workers"
	"github.com/cloudflare/cloudflare-go/v6/zones"
)

// Route is one row of the table: a route the sandbox serves and what judges it.
type Route struct {
	// Pattern is the route as sandbox.Server.Routes lists it.
	Pattern string
	// Answer is the cloudflare-go type of the whole answer (an envelope, or a pagination
	// type that carries result); nil when cloudflare-go has no type for the route.
	Answer reflect.Type
	// Request is the cloudflare-go type of the JSON request body, for writes with one.
	Request reflect.Type
	// Source says where the shape of a route without a cloudflare-go type comes from.
	Source string
	// Departs lists the required fields (dotted paths below the answer, "result.x") the live
	// API leaves out or answers null, which the sandbox emulates (see sandbox/liveanswers.go).
	Departs []string
	// Raw is true for answers that are not JSON envelopes (a script's code).
	Raw bool
}

// Typed reports whether a cloudflare-go type judges the route's answer.
func (r Route) Typed() bool { return r.Answer != nil }

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

const (
	scr          = "/accounts/{account}/workers/scripts/{script}"
	fromContract = "wrangler 4.63.0's source (packages/wrangler/src) and its runs against a logging fake"
)

// Routes is the table. TestTableCoversEveryRoute keeps it equal to what the sandbox serves.
var Routes = []Route{
	{Pattern: "GET /accounts/{account}/workers/services/{script}", Source: "no cloudflare-go method; " + fromContract + ": deploy/deploy.ts reads default_environment.script.tag"},
	{Pattern: "GET /accounts/{account}/workers/scripts", Answer: typeOf[pagination.SinglePage[workers.ScriptListResponse]]()},
	{Pattern: "PUT " + scr, Answer: typeOf[workers.ScriptUpdateResponseEnvelope](), Departs: []string{"result.startup_time_ms"}},
	{Pattern: "GET " + scr, Raw: true, Source: "cloudflare-go Scripts.Get answers *string (the main module's text), no envelope"},
	{Pattern: "DELETE " + scr, Answer: typeOf[workers.ScriptDeleteResponseEnvelope]()},
	{Pattern: "GET " + scr + "/content/v2", Raw: true, Source: "cloudflare-go Scripts.Content.Get answers *http.Response (multipart, cf-entrypoint header)"},
	{Pattern: "GET " + scr + "/settings", Answer: typeOf[workers.ScriptScriptAndVersionSettingGetResponseEnvelope]()},
	{Pattern: "PATCH " + scr + "/settings", Answer: typeOf[workers.ScriptScriptAndVersionSettingEditResponseEnvelope]()},
	{Pattern: "GET " + scr + "/script-settings", Answer: typeOf[workers.ScriptSettingGetResponseEnvelope]()},
	{Pattern: "PATCH " + scr + "/script-settings", Answer: typeOf[workers.ScriptSettingEditResponseEnvelope](), Request: typeOf[workers.ScriptSettingParam]()},
	{Pattern: "GET " + scr + "/versions", Answer: typeOf[pagination.V4PagePagination[workers.ScriptVersionListResponse]]()},
	{Pattern: "POST " + scr + "/versions", Answer: typeOf[workers.ScriptVersionNewResponseEnvelope](), Departs: []string{"result.startup_time_ms"}},
	{Pattern: "GET " + scr + "/versions/{version}", Answer: typeOf[workers.ScriptVersionGetResponseEnvelope]()},
	{Pattern: "GET " + scr + "/deployments", Answer: typeOf[workers.ScriptDeploymentListResponseEnvelope]()},
	{Pattern: "POST " + scr + "/deployments", Answer: typeOf[workers.ScriptDeploymentNewResponseEnvelope](), Request: typeOf[workers.DeploymentParam](),
		Departs: []string{"result.created_on", "result.source", "result.strategy", "result.versions"}},
	{Pattern: "GET " + scr + "/deployments/{deployment}", Answer: typeOf[workers.ScriptDeploymentGetResponseEnvelope]()},
	{Pattern: "DELETE " + scr + "/deployments/{deployment}", Answer: typeOf[workers.ScriptDeploymentDeleteResponse]()},
	{Pattern: "GET " + scr + "/secrets", Answer: typeOf[pagination.SinglePage[workers.ScriptSecretListResponse]]()},
	{Pattern: "PUT " + scr + "/secrets", Answer: typeOf[workers.ScriptSecretUpdateResponseEnvelope](), Request: typeOf[workers.ScriptSecretUpdateParamsBodyWorkersBindingKindSecretText]()},
	{Pattern: "GET " + scr + "/secrets/{secret}", Answer: typeOf[workers.ScriptSecretGetResponseEnvelope](), Departs: []string{"result"}},
	{Pattern: "DELETE " + scr + "/secrets/{secret}", Answer: typeOf[workers.ScriptSecretDeleteResponseEnvelope]()},
	{Pattern: "GET " + scr + "/schedules", Answer: typeOf[workers.ScriptScheduleGetResponseEnvelope]()},
	{Pattern: "PUT " + scr + "/schedules", Answer: typeOf[workers.ScriptScheduleUpdateResponseEnvelope](), Request: typeOf[[]workers.ScriptScheduleUpdateParamsBody]()},
	{Pattern: "GET " + scr + "/subdomain", Answer: typeOf[workers.ScriptSubdomainGetResponseEnvelope]()},
	{Pattern: "POST " + scr + "/subdomain", Answer: typeOf[workers.ScriptSubdomainNewResponseEnvelope](), Request: typeOf[workers.ScriptSubdomainNewParams]()},
	{Pattern: "DELETE " + scr + "/subdomain", Answer: typeOf[workers.ScriptSubdomainDeleteResponseEnvelope]()},
	{Pattern: "GET " + scr + "/routes", Source: "no cloudflare-go method for a script's routes; " + fromContract + ": utils/download-worker-config.ts"},
	{Pattern: "PUT " + scr + "/routes", Source: "no cloudflare-go method; " + fromContract + ": triggers/deploy.ts ignores the result"},
	{Pattern: "PUT " + scr + "/domains/records", Source: "no cloudflare-go method; " + fromContract + ": deploy/deploy.ts ignores the result"},
	{Pattern: "POST " + scr + "/domains/changeset", Source: "no cloudflare-go method; " + fromContract + ": deploy/deploy.ts reads updated[].modified and conflicting[]"},
	{Pattern: "GET /accounts/{account}/workers/domains", Answer: typeOf[pagination.SinglePage[workers.DomainListResponse]]()},
	{Pattern: "GET /accounts/{account}/workers/subdomain", Answer: typeOf[workers.SubdomainGetResponseEnvelope]()},
	{Pattern: "GET /accounts/{account}", Answer: typeOf[accounts.AccountGetResponseEnvelope]()},
	{Pattern: "GET /accounts/{account}/storage/kv/namespaces", Answer: typeOf[pagination.V4PagePaginationArray[kv.Namespace]]()},
	{Pattern: "GET /accounts/{account}/storage/kv/namespaces/{id}", Answer: typeOf[kv.NamespaceGetResponseEnvelope]()},
	{Pattern: "GET /accounts/{account}/vectorize/v2/indexes", Answer: typeOf[pagination.SinglePage[vectorize.CreateIndex]]()},
	{Pattern: "GET /accounts/{account}/vectorize/v2/indexes/{name}", Answer: typeOf[vectorize.IndexGetResponseEnvelope]()},
	{Pattern: "GET /accounts/{account}/workers/durable_objects/namespaces", Answer: typeOf[pagination.V4PagePaginationArray[durable_objects.Namespace]]()},
	{Pattern: "GET /accounts/{account}/tokens/verify", Answer: typeOf[accounts.TokenVerifyResponseEnvelope]()},
	{Pattern: "GET /user/tokens/verify", Answer: typeOf[user.TokenVerifyResponseEnvelope]()},
	{Pattern: "GET /user", Answer: typeOf[user.UserGetResponseEnvelope]()},
	{Pattern: "GET /memberships", Answer: typeOf[pagination.V4PagePaginationArray[memberships.Membership]]()},
	{Pattern: "GET /accounts", Answer: typeOf[pagination.V4PagePaginationArray[accounts.Account]]()},
	{Pattern: "GET /zones", Answer: typeOf[pagination.V4PagePaginationArray[zones.Zone]]()},
	{Pattern: "GET /zones/{zone}/workers/routes", Answer: typeOf[pagination.SinglePage[workers.RouteListResponse]]()},
	{Pattern: "POST /zones/{zone}/workers/routes", Answer: typeOf[workers.RouteNewResponseEnvelope](), Request: typeOf[workers.RouteNewParams]()},
}

// Lookup finds the row of pattern.
func Lookup(pattern string) (Route, bool) {
	for _, r := range Routes {
		if r.Pattern == pattern {
			return r, true
		}
	}
	return Route{}, false
}
