// Package report renders the results of fleet commands (deploy:all, drift, and others) for
// three readers: a person at a terminal (aligned text, coloured only when the stream is a
// terminal and NO_COLOR is unset), a program (JSON on stdout and nothing else), and a GitHub
// Actions run (markdown appended to $GITHUB_STEP_SUMMARY).
//
// Colour lives here and nowhere else: other packages hand over plain strings and a Tone.
package report
