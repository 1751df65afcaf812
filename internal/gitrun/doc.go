// Package gitrun runs git for the packages that write to a team's remote (recordsbranch, lease),
// with one environment rule: git never prompts (CI has no terminal), its messages are in the C
// locale (callers read them), and it commits as the deploy-records bot unless the caller's
// environment already names an author or committer.
package gitrun
