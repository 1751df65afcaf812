package sandbox

import (
	"net/http"
	"sort"
	"strconv"
)

// pageParams reads page and per_page (per_page capped at maxPer), refusing what Cloudflare
// refuses.
func pageParams(r *http.Request, defPer, maxPer int) (int, int, error) {
	q := r.URL.Query()
	page, perPage := 1, defPer
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errf(http.StatusBadRequest, codeBadRequest, "page must be a whole number from 1, got %q", v)
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errf(http.StatusBadRequest, codeBadRequest, "per_page must be a whole number from 1, got %q", v)
		}
		perPage = min(n, maxPer)
	}
	return page, perPage, nil
}

func pageBounds(n, page, perPage int) (int, int) {
	lo := min((page-1)*perPage, n)
	return lo, min(lo+perPage, n)
}

func pageInfo(page, perPage, count, total int) resultInfo {
	return resultInfo{Page: page, PerPage: perPage, Count: count, TotalCount: total, TotalPages: (total + perPage - 1) / perPage}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
