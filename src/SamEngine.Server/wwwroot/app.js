// The click-to-segment page: open an image, let the server encode it once, then ask the decoder for a
// mask on every mouse move (one request in flight, the latest position wins) and on every click.
import { uploadImage, predict, segmentEverything, forgetImage } from "./api.js";
import { decodeMask, maskBox } from "./rle.js";
import { maskColour, paintMasks, drawPrompts, maskToPng, drawThumbnail } from "./draw.js";

const $ = id => document.getElementById(id);
const canvases = { image: $("image-canvas"), objects: $("objects-canvas"), overlay: $("overlay-canvas") };
const DRAG_THRESHOLD_PX = 4;   // a press that moves less than this is a click, not a box
const CURRENT_COLOUR = [30, 144, 255];
const PREVIEW_COLOUR = [125, 190, 255];

const state = {
  image: null,     // { id, width, height, name }
  points: [],      // [[x, y, label]], label 1 foreground, 0 background
  box: null,       // [x0, y0, x1, y1]
  result: null,    // the last click's answer: { id, scores, rles, masks (decoded) }
  selected: 0,     // the candidate the user (or the best score) picked
  objects: [],     // kept masks and "everything" masks: { rle, mask, score, source }
  version: 0,      // bumped by every prompt change, so late answers for older prompts are dropped
};
const history = [];                                // snapshots for undo
const preview = { wanted: null, busy: false, mask: null, version: -1 };
const press = { start: null, box: null, button: 0 };
let cursor = null;                                 // the last pointer position over the image, in image pixels

/** What the tests and the README's latency figure read: timings of the last answers, in ms. */
window.samPage = { state, timings: { clickToMask: null, clickRequest: null, previewToMask: null, encode: null } };

// ---- opening an image -------------------------------------------------------------------------------

$("open").onclick = () => $("file").click();
$("file").onchange = () => { if ($("file").files[0]) openImage($("file").files[0]); $("file").value = ""; };
document.addEventListener("dragover", e => { e.preventDefault(); document.body.classList.add("dragging"); });
document.addEventListener("dragleave", e => { if (!e.relatedTarget) document.body.classList.remove("dragging"); });
document.addEventListener("drop", e => {
  e.preventDefault();
  document.body.classList.remove("dragging");
  const file = [...e.dataTransfer.files].find(f => f.type.startsWith("image/")) ?? e.dataTransfer.files[0];
  if (file) openImage(file);
});

async function openImage(file) {
  const previous = state.image;
  setPhase("encoding");
  const started = performance.now();
  const ticker = setInterval(() => status(`Encoding ${file.name}… ${((performance.now() - started) / 1000).toFixed(1)} s`), 100);
  $("progress").hidden = false;
  $("progress").max = 1;
  $("progress").value = 0;
  try {
    const [bitmap, answer] = await Promise.all([
      createImageBitmap(file),
      uploadImage(file, fraction => {
        // the upload is quick on loopback; after it the encoder runs with no way to measure it
        if (fraction < 1) $("progress").value = fraction; else $("progress").removeAttribute("value");
      }),
    ]);
    if (bitmap.width !== answer.width || bitmap.height !== answer.height)
      throw new Error(`the browser reads ${bitmap.width} x ${bitmap.height} pixels but the server ${answer.width} x ${answer.height}`);
    if (previous) forgetImage(previous.id);   // only now: a failed open keeps the previous image usable
    state.image = { id: answer.id, width: answer.width, height: answer.height, name: file.name.replace(/\.[^.]*$/, "") };
    window.samPage.timings.encode = answer.encode_ms;
    for (const canvas of Object.values(canvases)) { canvas.width = answer.width; canvas.height = answer.height; }
    canvases.image.getContext("2d").drawImage(bitmap, 0, 0);
    $("drop-hint").hidden = true;
    $("stage").hidden = false;
    fitStage();
    resetPrompts({ objects: true });
    history.length = 0;
    setPhase("ready");
    status(`${file.name}: ${answer.width} x ${answer.height}, encoded in ${(answer.encode_ms / 1000).toFixed(2)} s. Hover to preview, click to segment.`);
  } catch (error) {
    setPhase(state.image ? "ready" : "empty");
    status(`Could not open ${file.name}: ${error.message}`, true);
  } finally {
    clearInterval(ticker);
    $("progress").hidden = true;
  }
}

// ---- pointer: hover preview, click points, drag boxes -----------------------------------------------

const overlay = canvases.overlay;
overlay.addEventListener("contextmenu", e => e.preventDefault());
overlay.addEventListener("pointerdown", e => {
  if (!ready()) return;
  overlay.setPointerCapture(e.pointerId);
  press.start = toImage(e);
  press.button = e.button;
  press.box = null;
});
overlay.addEventListener("pointermove", e => {
  if (!ready()) return;
  const at = toImage(e);
  cursor = at;
  if (press.start && press.button === 0 && (press.box || farEnough(press.start, at, e))) {
    press.box = boxOf(press.start, at);
    askPreview({ points: state.points, box: press.box });
  } else if (!press.start && state.points.length === 0 && !state.box) {
    // as in the official demo, the hover mask is there until the first click; then the committed mask stays
    askPreview({ points: [[at[0], at[1], 1]], box: null });
  }
  render();
});
overlay.addEventListener("pointerup", e => {
  const start = press.start, box = press.box, button = press.button;
  press.start = press.box = null;
  if (!ready() || !start) return;
  const at = toImage(e);
  const clickedAt = performance.now();
  if (box) {
    if (box[2] - box[0] >= 1 && box[3] - box[1] >= 1) changePrompts(() => { state.box = box; }, clickedAt);
  } else if (button === 0 || button === 2) {
    const label = button === 2 || e.shiftKey ? 0 : 1;
    changePrompts(() => { state.points = [...state.points, [at[0], at[1], label]]; }, clickedAt);
  }
});
overlay.addEventListener("pointerleave", () => { cursor = null; preview.wanted = null; preview.mask = null; render(); });

function farEnough(from, to, e) {
  const cssPerImagePx = overlay.getBoundingClientRect().width / overlay.width;
  return Math.hypot(to[0] - from[0], to[1] - from[1]) * cssPerImagePx >= DRAG_THRESHOLD_PX && e.buttons !== 0;
}

function boxOf(a, b) {
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
}

/** The pointer in image pixels (the canvases are scaled by CSS), rounded to a tenth of a pixel. */
function toImage(e) {
  const rect = overlay.getBoundingClientRect();
  const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
  const x = clamp((e.clientX - rect.left) * overlay.width / rect.width, overlay.width - 1);
  const y = clamp((e.clientY - rect.top) * overlay.height / rect.height, overlay.height - 1);
  return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
}

/** A single point is ambiguous (whole, part, subpart): ask for three masks, as SAM's authors advise. */
function wantsMultimask(points, box) { return points.length === 1 && !box; }

/** Asks for a hover mask; with one request in flight the newest wish replaces any waiting one. */
function askPreview(prompt) {
  preview.wanted = { ...prompt, version: state.version, at: performance.now() };
  if (!preview.busy) runPreviews();
}

async function runPreviews() {
  preview.busy = true;
  while (preview.wanted) {
    const wish = preview.wanted;
    preview.wanted = null;
    const imageId = state.image.id;
    try {
      const answer = await predict(imageId, {
        points: wish.points, box: wish.box, maskInput: maskInputOf(state.result, state.selected),
        multimask: wantsMultimask(wish.points, wish.box),
      });
      // drop answers for another image, older prompts or a pointer that has left
      if (state.image?.id !== imageId || wish.version !== state.version || (!cursor && !press.box)) continue;
      preview.mask = decodeMask(answer.masks[bestIndex(answer.scores)]);
      preview.version = wish.version;
      render();
      window.samPage.timings.previewToMask = performance.now() - wish.at;
    } catch (error) {
      status(`Preview failed: ${error.message}`, true);
    }
  }
  preview.busy = false;
}

// ---- committed prompts: points, box, candidates, undo, reset --------------------------------------

/** Applies a change to the prompts (undoable) and asks the server for the masks of the new prompts. */
async function changePrompts(change, startedAt = performance.now()) {
  remember();
  change();
  const version = ++state.version;
  preview.mask = null;
  render();
  if (state.points.length === 0 && !state.box) { state.result = null; renderCandidates(); return; }
  const imageId = state.image.id;
  try {
    const asked = performance.now();
    const answer = await predict(imageId, {
      points: state.points, box: state.box, maskInput: maskInputOf(state.result, state.selected),
      multimask: wantsMultimask(state.points, state.box),
    });
    if (state.image?.id !== imageId || version !== state.version) return;
    window.samPage.timings.clickRequest = performance.now() - asked;
    state.result = { answer, masks: answer.masks.map(decodeMask) };
    state.selected = bestIndex(answer.scores);
    renderCandidates();
    render();
    requestAnimationFrame(() => {
      window.samPage.timings.clickToMask = performance.now() - startedAt;
      document.body.dataset.answered = String(version);
    });
    const candidates = answer.masks.length > 1 ? `${answer.masks.length} candidates` : "Mask";
    status(`${candidates} for ${describePrompts()} in ${Math.round(performance.now() - startedAt)} ms.`);
  } catch (error) {
    status(`Segmenting failed: ${error.message}`, true);
  }
}

/**
 * The mask input that refines the next answer: the low-res logits of the picked candidate, named by the
 * answer's result id (and the candidate's index when the answer holds several).
 */
function maskInputOf(result, index) {
  if (!result) return null;
  const ids = result.answer.result_ids;
  if (Array.isArray(ids)) return ids[index] ?? null;
  return result.answer.masks.length > 1 ? `${result.answer.result_id}:${index}` : result.answer.result_id;
}

function bestIndex(scores) { return scores.indexOf(Math.max(...scores)); }

function describePrompts() {
  const fg = state.points.filter(p => p[2] === 1).length, bg = state.points.length - fg;
  const parts = [];
  if (fg) parts.push(`${fg} foreground point${fg > 1 ? "s" : ""}`);
  if (bg) parts.push(`${bg} background point${bg > 1 ? "s" : ""}`);
  if (state.box) parts.push("a box");
  return parts.join(", ");
}

function pickCandidate(index) {
  if (!state.result || index >= state.result.masks.length || index === state.selected) return;
  remember();
  state.selected = index;
  renderCandidates();
  render();
}

function remember() {
  history.push({ points: state.points, box: state.box, result: state.result, selected: state.selected, objects: state.objects });
}

function undo() {
  const last = history.pop();
  if (!last) return;
  Object.assign(state, last);
  state.version++;
  preview.mask = null;
  renderCandidates();
  renderObjects();
  render();
  status("Undone.");
}

function resetPrompts({ objects }) {
  state.points = [];
  state.box = null;
  state.result = null;
  state.selected = 0;
  if (objects) state.objects = [];
  state.version++;
  preview.mask = null;
  renderCandidates();
  renderObjects();
  render();
}

function currentMask() { return state.result?.masks[state.selected] ?? null; }

/** Keeps the current mask as an object (drawn in its own colour, exported with the others) and starts a new one. */
function keep() {
  const mask = currentMask();
  if (!mask) return status("No mask to keep: click on the image first.", true);
  remember();
  const { answer } = state.result;
  state.objects = [...state.objects, { rle: answer.masks[state.selected], mask, score: answer.scores[state.selected], source: "click" }];
  state.points = [];
  state.box = null;
  state.result = null;
  state.version++;
  renderCandidates();
  renderObjects();
  render();
  status(`Kept object ${state.objects.length}.`);
}

// ---- segment everything -------------------------------------------------------------------------------

async function everything() {
  if (!ready()) return;
  const options = {
    points_per_side: Number($("points-per-side").value),
    pred_iou_thresh: Number($("pred-iou-thresh").value),
    stability_score_thresh: Number($("stability-score-thresh").value),
    stability_score_offset: Number($("stability-score-offset").value),
    box_nms_thresh: Number($("box-nms-thresh").value),
  };
  const imageId = state.image.id;
  setPhase("everything");
  const started = performance.now();
  const ticker = setInterval(() => status(`Segmenting everything… ${((performance.now() - started) / 1000).toFixed(1)} s`), 100);
  $("progress").hidden = false;
  $("progress").removeAttribute("value");
  try {
    const answer = await segmentEverything(imageId, options);
    if (state.image?.id !== imageId) return;
    const records = Array.isArray(answer) ? answer : answer.masks;
    remember();
    const kept = state.objects.filter(o => o.source !== "everything");
    const found = records.map(r => ({ rle: r.segmentation, mask: decodeMask(r.segmentation), score: r.predicted_iou, source: "everything" }));
    // largest first, so small masks stay visible on top, as `amg --overlay` draws them
    found.sort((a, b) => b.mask.area - a.mask.area);
    state.objects = [...kept, ...found];
    renderObjects();
    status(`Everything: ${records.length} mask${records.length === 1 ? "" : "s"} in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  } catch (error) {
    status(`Segment everything failed: ${error.message}`, true);
  } finally {
    clearInterval(ticker);
    $("progress").hidden = true;
    if (state.image?.id === imageId) setPhase("ready");
  }
}

// ---- export -----------------------------------------------------------------------------------------

async function exportPng() {
  const mask = currentMask();
  if (!mask) return status("No mask to export: click on the image first.", true);
  download(await maskToPng(mask), `${state.image.name}-mask.png`);
}

/** Every kept and "everything" mask, and the current one, as a COCO annotation file. */
function exportCoco() {
  if (!state.image) return;
  const all = [...state.objects];
  if (currentMask()) {
    const { answer } = state.result;
    all.push({ rle: answer.masks[state.selected], mask: currentMask(), score: answer.scores[state.selected], source: "click" });
  }
  if (all.length === 0) return status("No masks to export: click on the image or segment everything first.", true);
  const coco = {
    images: [{ id: 1, file_name: state.image.name, width: state.image.width, height: state.image.height }],
    categories: [{ id: 1, name: "object" }],
    annotations: all.map((o, i) => ({
      id: i + 1, image_id: 1, category_id: 1, iscrowd: 0,
      segmentation: { size: o.rle.size, counts: o.rle.counts },
      area: o.mask.area, bbox: maskBox(o.mask), score: o.score, source: o.source,
    })),
  };
  download(new Blob([JSON.stringify(coco)], { type: "application/json" }), `${state.image.name}-masks.json`);
}

function download(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// ---- drawing ----------------------------------------------------------------------------------------

function render() {
  if (!state.image) return;
  const ctx = overlay.getContext("2d");
  const showPreview = preview.mask && preview.version === state.version && (cursor || press.box);
  const mask = showPreview ? preview.mask : currentMask();
  if (mask) {
    const image = ctx.createImageData(overlay.width, overlay.height);
    paintMasks(image, [mask], [showPreview ? PREVIEW_COLOUR : CURRENT_COLOUR], showPreview ? 110 : 140);
    ctx.putImageData(image, 0, 0);
  } else {
    ctx.clearRect(0, 0, overlay.width, overlay.height);
  }
  const scale = overlay.width / overlay.getBoundingClientRect().width;
  drawPrompts(ctx, state.points, press.box ?? state.box, scale);
}

/** Scales the canvases (by CSS) to fill the space beside the panel, small images up and large ones down. */
function fitStage() {
  if (!state.image) return;
  const wrap = $("stage-wrap");
  const fit = Math.min((wrap.clientWidth - 32) / state.image.width, (wrap.clientHeight - 32) / state.image.height);
  canvases.image.style.width = `${Math.floor(state.image.width * fit)}px`;
  canvases.image.style.height = `${Math.floor(state.image.height * fit)}px`;
  render();
}
window.addEventListener("resize", fitStage);

function renderObjects() {
  const ctx = canvases.objects.getContext("2d");
  ctx.clearRect(0, 0, canvases.objects.width, canvases.objects.height);
  if (state.objects.length > 0) {
    const image = ctx.createImageData(canvases.objects.width, canvases.objects.height);
    paintMasks(image, state.objects.map(o => o.mask), state.objects.map((_, i) => maskColour(i)), 120);
    ctx.putImageData(image, 0, 0);
  }
  const n = state.objects.length;
  $("objects-count").textContent = n === 0 ? "No objects yet." : `${n} object${n === 1 ? "" : "s"}.`;
  updateButtons();
}

function renderCandidates() {
  const list = $("candidates");
  list.replaceChildren();
  const result = state.result;
  if (result && result.masks.length > 1) {
    result.masks.forEach((mask, i) => {
      const item = document.createElement("li");
      item.className = i === state.selected ? "selected" : "";
      item.title = `Pick this mask (${i + 1})`;
      const thumb = document.createElement("canvas");
      thumb.width = 80;
      thumb.height = 60;
      drawThumbnail(thumb, mask, CURRENT_COLOUR, canvases.image);
      const score = document.createElement("div");
      score.className = "score";
      score.textContent = result.answer.scores[i].toFixed(3);
      item.append(thumb, score);
      item.onclick = () => pickCandidate(i);
      list.append(item);
    });
  }
  $("candidates-hint").hidden = !!(result && result.masks.length > 1);
  updateButtons();
}

function updateButtons() {
  const has = !!state.image, busy = document.body.dataset.phase !== "ready";
  $("undo").disabled = !has || busy || history.length === 0;
  $("reset").disabled = !has || busy;
  $("keep").disabled = !has || busy || !currentMask();
  $("everything").disabled = !has || busy;
  $("export-png").disabled = !has || !currentMask();
  $("export-json").disabled = !has || (!currentMask() && state.objects.length === 0);
}

function setPhase(phase) {
  document.body.dataset.phase = phase;
  updateButtons();
}

function ready() { return document.body.dataset.phase === "ready"; }

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

// ---- buttons and keys -------------------------------------------------------------------------------

$("undo").onclick = undo;
$("reset").onclick = () => { remember(); resetPrompts({ objects: true }); status("Reset."); };
$("keep").onclick = keep;
$("everything").onclick = everything;
$("export-png").onclick = exportPng;
$("export-json").onclick = exportCoco;

document.addEventListener("keydown", e => {
  if (e.target instanceof HTMLInputElement) return;
  const key = e.key.toLowerCase();
  if (key === "o" && !e.ctrlKey) { $("open").click(); return; }
  if (!ready()) return;
  if (key === "z") { e.preventDefault(); undo(); }
  else if (key === "r" && !e.ctrlKey || key === "escape") { remember(); resetPrompts({ objects: true }); status("Reset."); }
  else if (key === "enter") keep();
  else if (key === "e") everything();
  else if (key === "p") exportPng();
  else if (key === "j") exportCoco();
  else if (key >= "1" && key <= "9") pickCandidate(Number(key) - 1);
});

updateButtons();
