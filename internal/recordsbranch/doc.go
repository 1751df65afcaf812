// Package recordsbranch keeps deployment records on a dedicated git branch (deploy-records by
// default), so that records written by CI outlive the run's artifacts and their hash chain
// continues from one run to the next.
//
// Push commits every record file of a folder that the branch does not hold yet on top of
// the branch's tip, with git plumbing and a private index (the checkout and its index are
// untouched), checks the chain of the resulting tree, and pushes without force. A push that
// loses a race with another writer fetches the new tip and tries again, up to a bound.
// Pull copies the branch's records into the folder before a deploy, so that the deploy's
// record chains to the newest one. Extract writes a branch's records to a folder for reading
// (history -from=…). A record name that exists with other bytes is never overwritten.
package recordsbranch
