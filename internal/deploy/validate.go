package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/validate"
)

// ValidateWith adapts a validator to Options.Validate: any problem fails the step, and the
// error lists them as `path:line:col: rule: message`.
func ValidateWith(v *validate.Validator) func(context.Context, *tenant.Tenant) error {
	return func(ctx context.Context, t *tenant.Tenant) error {
		rep, err := v.Tenant(ctx, t)
		if err != nil {
			return err
		}
		if rep.OK() {
			return nil
		}
		var b strings.Builder
		if err := rep.WriteText(&b); err != nil {
			return err
		}
		return fmt.Errorf("%d problem(s) in the tenant's files:\n%s", len(rep.Problems), strings.TrimRight(b.String(), "\n"))
	}
}
