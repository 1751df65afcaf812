import { requireFeature } from "../features.js";
import { HttpError, json, readJsonObject } from "../http.js";
import { callRemoteBinding } from "../remote.js";
import type { Context } from "../router.js";

// POST /search {"vector": [numbers], "top_k": n} queries the tenant's Vectorize
// index. Only for tenants with the vector_search feature.
export const maxDimensions = 1536;
export const maxTopK = 20;

export async function search(request: Request, c: Context): Promise<Response> {
  requireFeature(c.env, "vector_search");
  const body = await readJsonObject(request, 64 * 1024);
  const vector = body["vector"];
  if (
    !Array.isArray(vector) ||
    vector.length === 0 ||
    vector.length > maxDimensions ||
    !vector.every((x) => typeof x === "number" && Number.isFinite(x))
  ) {
    throw new HttpError(400, "invalid_vector", `"vector" must be 1 to ${maxDimensions} finite numbers`, {
      field: "vector",
    });
  }
  const topK = body["top_k"] ?? 5;
  if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1 || topK > maxTopK) {
    throw new HttpError(400, "invalid_top_k", `"top_k" must be an integer from 1 to ${maxTopK}`, {
      field: "top_k",
    });
  }
  const result = await callRemoteBinding(
    "VECTORIZE",
    c.env.VECTORIZE,
    (index) => index.query(vector as number[], { topK, returnMetadata: "indexed" }),
    c.log,
  );
  return json({
    count: result.count,
    matches: result.matches.map((m) => ({ id: m.id, score: m.score, metadata: m.metadata ?? null })),
  });
}
