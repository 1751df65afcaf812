import { HttpError, json, readJsonObject } from "../http.js";
import { checkName } from "../names.js";
import type { Context } from "../router.js";

// Notes are small texts kept in the tenant's KV namespace (CACHE). Each tenant
// and environment has its own namespace, so keys need no tenant prefix.
export const maxNoteChars = 4096;
const maxBodyBytes = 16 * 1024;
// KV is eventually consistent; a short edge cache TTL keeps reads cheap while a
// changed note still shows up within a minute everywhere.
const cacheTtlSeconds = 60;

interface StoredNote {
  text: string;
  updated_at: string;
}

const kvKey = (key: string) => `note:${key}`;

export async function getNote(_request: Request, c: Context): Promise<Response> {
  const key = checkName("key", c.params["key"]);
  const note = await c.env.CACHE.get<StoredNote>(kvKey(key), { type: "json", cacheTtl: cacheTtlSeconds });
  if (note === null) {
    throw new HttpError(404, "note_not_found", `there is no note "${key}"`);
  }
  return json({ key, text: note.text, updated_at: note.updated_at });
}

export async function putNote(request: Request, c: Context): Promise<Response> {
  const key = checkName("key", c.params["key"]);
  const body = await readJsonObject(request, maxBodyBytes);
  const text = body["text"];
  if (typeof text !== "string" || text.length === 0 || text.length > maxNoteChars) {
    throw new HttpError(400, "invalid_text", `"text" must be a string of 1 to ${maxNoteChars} characters`, {
      field: "text",
    });
  }
  const existed = (await c.env.CACHE.get(kvKey(key))) !== null;
  const note: StoredNote = { text, updated_at: c.now().toISOString() };
  await c.env.CACHE.put(kvKey(key), JSON.stringify(note));
  c.log.info("note saved", { key, chars: text.length });
  return json({ key, ...note }, existed ? 200 : 201);
}

export async function deleteNote(_request: Request, c: Context): Promise<Response> {
  const key = checkName("key", c.params["key"]);
  await c.env.CACHE.delete(kvKey(key));
  return new Response(null, { status: 204 });
}
