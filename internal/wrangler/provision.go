package wrangler

// noProvision turns off wrangler 4.63.0's resource provisioning (--x-provision, alias of the
// hidden --experimental-provision, on by default): with it on, a KV, D1 or R2 binding without
// an id makes wrangler create a new resource in the tenant's account and write its id into
// the config. Every resource must exist and be named in the tenant's files instead, where
// validate and preflight can check it. Passed to every command that uploads.
const noProvision = "--no-x-provision"
