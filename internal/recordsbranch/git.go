package recordsbranch

import "github.com/rainbowsmoke/crispy-enigma/internal/gitrun"

// The records branch runs git through gitrun, the one runner it shares with the lease.
var (
	run    = gitrun.Run
	runRaw = gitrun.RunRaw
	gitEnv = gitrun.Env
)

type gitErr = gitrun.Error
