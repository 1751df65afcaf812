// Package atomicfile replaces a file in one step: the data goes to a temporary file in the
// same folder, which is then renamed over the target, so that a reader (a browser tab, a
// second mage process) or a crash half-way never sees half a file, and a failed write leaves
// the old file as it was.
package atomicfile
