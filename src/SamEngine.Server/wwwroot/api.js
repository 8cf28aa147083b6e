// The page's calls to the server's JSON API (../shared/spec/engine-contracts.md, "Server"). Errors come
// back as RFC 9457 problem details; they are thrown as ApiError with the server's own words.

/** An HTTP error from the API: the status and the problem's detail (or title). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// With `serve --api-key`, every /v1 route needs the key: the page asks for it on the first 401 and keeps
// it for this tab only (sessionStorage).
const KEY_STORAGE = "samengine-api-key";
let apiKey = sessionStorage.getItem(KEY_STORAGE);

function authorization() { return apiKey ? { Authorization: `Bearer ${apiKey}` } : {}; }

/** After a 401: asks the person for the key; true when one was given (the request is then retried). */
function askForKey() {
  const key = window.prompt("This server needs its API key (the --api-key it was started with):");
  if (!key) return false;
  apiKey = key.trim();
  sessionStorage.setItem(KEY_STORAGE, apiKey);
  return true;
}

async function problemMessage(status, statusText, text) {
  try {
    const problem = JSON.parse(text);
    return problem.detail || problem.title || `${status} ${statusText}`;
  } catch {
    return text.trim().split("\n")[0] || `${status} ${statusText}`;
  }
}

async function postJson(path, body) {
  const send = () => fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authorization() },
    body: JSON.stringify(body),
  });
  let response = await send();
  if (response.status === 401 && askForKey()) response = await send();
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, await problemMessage(response.status, response.statusText, text));
  return JSON.parse(text);
}

/**
 * Uploads an image (raw bytes) and waits for its embedding: `{ id, height, width, encode_ms }`.
 * `onUploaded(fraction)` follows the upload; the encoder starts when it reaches 1.
 */
export async function uploadImage(file, onUploaded) {
  try {
    return await sendImage(file, onUploaded);
  } catch (error) {
    if (error.status === 401 && askForKey()) return await sendImage(file, onUploaded);
    throw error;
  }
}

function sendImage(file, onUploaded) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "v1/images");
    request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    for (const [name, value] of Object.entries(authorization())) request.setRequestHeader(name, value);
    request.upload.onprogress = e => { if (e.lengthComputable) onUploaded(e.loaded / e.total); };
    request.upload.onload = () => onUploaded(1);
    request.onload = async () => {
      if (request.status >= 200 && request.status < 300) resolve(JSON.parse(request.responseText));
      else reject(new ApiError(request.status, await problemMessage(request.status, request.statusText, request.responseText)));
    };
    request.onerror = () => reject(new ApiError(0, "the server cannot be reached"));
    request.send(file);
  });
}

/**
 * Masks for prompts on an uploaded image: `prompt` is `{ points: [[x, y, label]...], box, maskInput,
 * multimask }`; the answer is `{ result_id, scores, masks: [{ size, counts }] }`.
 */
export function predict(imageId, prompt) {
  const body = { points: prompt.points, multimask: prompt.multimask };
  if (prompt.box) body.box = prompt.box;
  if (prompt.maskInput) body.mask_input = prompt.maskInput;
  return postJson(`v1/images/${encodeURIComponent(imageId)}/predict`, body);
}

/** Every mask of the automatic mask generator, with the `amg` options in snake case. */
export function segmentEverything(imageId, options) {
  return postJson(`v1/images/${encodeURIComponent(imageId)}/amg`, options);
}

/** Tells the server it may forget an image (best effort: the page has moved on). */
export function forgetImage(imageId) {
  return fetch(`v1/images/${encodeURIComponent(imageId)}`, { method: "DELETE", headers: authorization() }).catch(() => {});
}
