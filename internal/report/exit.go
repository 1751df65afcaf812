package report

// The exit codes every target ends with. They are decided here once: the commands that judge
// the fleet (drift, fleet:status) return one of them, and the magefile turns it into mage's
// exit status; every other failure is an error, which mage ends with 1.
const (
	// ExitOK: everything is as it should be.
	ExitOK = 0
	// ExitFailed: the request was refused, or some tenant could not be checked. It wins over
	// ExitAttention: a tenant that could not be checked might need attention too.
	ExitFailed = 1
	// ExitAttention: the command worked and found something to look at (drift, a tenant
	// missing or unhealthy).
	ExitAttention = 2
)
