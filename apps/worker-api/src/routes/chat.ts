import { requireFeature } from "../features.js";
import { HttpError, json, readJsonObject } from "../http.js";
import { callRemoteBinding } from "../remote.js";
import type { Context } from "../router.js";

// POST /chat {"prompt": "..."} asks a Workers AI text model. Only for tenants
// with the ai_chat feature.
export const chatModel = "@cf/meta/llama-3.1-8b-instruct-fp8";
export const maxPromptChars = 2000;

export async function chat(request: Request, c: Context): Promise<Response> {
  requireFeature(c.env, "ai_chat");
  const body = await readJsonObject(request, 16 * 1024);
  const prompt = body["prompt"];
  if (typeof prompt !== "string" || prompt.trim() === "" || prompt.length > maxPromptChars) {
    throw new HttpError(400, "invalid_prompt", `"prompt" must be a non-empty string of at most ${maxPromptChars} characters`, {
      field: "prompt",
    });
  }
  const output = await callRemoteBinding(
    "AI",
    c.env.AI,
    (ai) => ai.run(chatModel, { prompt, max_tokens: 256 }),
    c.log,
  );
  return json({ model: chatModel, response: output.response ?? "" });
}
