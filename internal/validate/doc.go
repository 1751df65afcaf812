// Package validate checks tenant folders: tenant.config.json against schemas/, wrangler.jsonc
// against the config schema wrangler ships, and cross-file rules that no schema can express
// (account ids, bindings per env, Durable Object migrations, compatibility dates, unique
// Worker names, secret hygiene).
//
// Every check runs and every problem is reported at once, sorted, each with a stable rule id
// and the line:column in the file as written (comments included). Report formats the result
// as text lines or JSON, so the mage target stays a few lines long.
package validate
