// Package browser drives Debian's headless Chromium (/usr/bin/chromium) to load a local HTML
// file: the DOM after load (--dump-dom) and a PNG screenshot, each in a fresh profile with
// every background fetch turned off, so a test of an offline page cannot reach the network.
// It serves the HTML report's tests and the report benchmark.
package browser
