// Package validate checks tenant folders: tenant.config.json against schemas/, wrangler.jsonc
// against the config schema wrangler ships, and cross-file rules that no schema can express.
//
// Every check runs and every problem is reported at once, sorted, each with a stable rule id
// and the line:column in the file as written (comments included). Report formats the result
// as text lines or JSON, so the mage target stays a few lines long.
//
// Rule ids (stable; scripts and editors match on them):
//
//	file-missing, file-unreadable, file-too-large, file-empty, file-binary,
//	syntax-error, json-not-strict, nesting-too-deep   a file cannot be read or parsed
//	duplicate-key                 a field repeats within one object
//	config-schema                 tenant.config.json vs schemas/tenant.config.schema.json
//	wrangler-schema               wrangler.jsonc vs node_modules/wrangler/config-schema.json
//	tenant-dir-invalid            a folder under tenants/ is not a valid tenant name
//	tenant-dir-mismatch           tenant_id differs from the folder name
//	env-missing, env-unknown      env.staging / env.production absent, or another env present
//	account-id-missing            an env has no account_id (wrangler would use its cache)
//	account-id-mismatch           an account_id differs from the tenant's
//	account-id-duplicate          two tenants share an account id
//	binding-missing               a binding present in one env, or required by a feature
//	                              (vector_search: vectorize, ai_chat: ai; always
//	                              version_metadata), is absent in another env
//	var-missing                   TENANT_ID/ENVIRONMENT, or a var set in another env, absent
//	var-value-mismatch            TENANT_ID is not the tenant or ENVIRONMENT not the env
//	var-looks-secret              a var value is token-shaped, high-entropy or credential-named
//	secret-name-invalid           a required secret name is not UPPER_SNAKE
//	secret-var-conflict           a name is both a var and a required secret
//	do-migration-missing          a Durable Object class has no migration creating it
//	compat-date-missing, compat-date-invalid, compat-date-future
//	worker-name-missing, worker-name-invalid, worker-name-foreign (no tenant prefix),
//	worker-name-duplicate         across every tenant and env
//	main-not-found                the entry module does not exist
//	dev-port-mismatch, dev-port-duplicate, subdomain-duplicate
//
// Rules for a tenant copied from another or edited by hand (resources.go):
//
//	binding-id-missing            a KV/D1/R2 binding names no resource: wrangler would create one
//	kv-id-invalid                 a KV namespace id is not 32 lower-case hex (a title, say)
//	kv-id-shared                  two tenants or envs bind one KV namespace (a copied id)
//	vectorize-index-invalid       an index name Cloudflare refuses
//	vectorize-index-foreign       an index name without the tenant prefix (a copied name)
//	vectorize-index-shared        two envs of one account bind one index
//	do-script-foreign             a Durable Object binding points at another tenant's Worker
//	migration-tag-duplicate       a migration tag repeats
//	cron-invalid                  a cron is not five fields in range
//	display-name-duplicate        two tenants show the same display name
package validate
