// Package workspace knows the layout of this repository: where the tenants, the deployment
// records, the node packages and the local state live. Every other package asks it for paths
// instead of guessing from the working directory, so targets behave the same from any folder.
package workspace
