// Package jsonc parses one JSON or JSONC file into a Document that keeps the bytes the user
// wrote, so that a JSON pointer maps back to line:column of the file (comments and trailing
// commas included). Refusals are *FileError values with a stable rule id and a position.
//
// It knows nothing of tenants: package tenant reads its two files through here and adds the
// hints that name them.
package jsonc
