// Drawing masks and prompts on the page's canvases. Masks are `{ height, width, data }` from rle.js.

/** The colour of the i-th mask: hues a golden angle apart, so neighbours in the list differ. */
export function maskColour(i) {
  const hue = (i * 137.508) % 360;
  return hslToRgb(hue / 360, 0.75, 0.55);
}

function hslToRgb(h, s, l) {
  const k = n => (n + h * 12) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = n => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

/**
 * Paints masks into one RGBA image: each mask's inside at `alpha` (0..255) in its colour and its edge
 * (a mask pixel with a 4-neighbour outside) opaque, later masks over earlier ones.
 */
export function paintMasks(image, masks, colours, alpha) {
  const { width, height, data: rgba } = image;
  masks.forEach((mask, m) => {
    const [r, g, b] = colours[m];
    const bits = mask.data;
    for (let y = 0; y < height; y++) {
      const row = y * width;
      for (let x = 0; x < width; x++) {
        const i = row + x;
        if (!bits[i]) continue;
        const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1
          || !bits[i - 1] || !bits[i + 1] || !bits[i - width] || !bits[i + width];
        const o = i * 4;
        rgba[o] = r; rgba[o + 1] = g; rgba[o + 2] = b;
        rgba[o + 3] = edge ? 255 : alpha;
      }
    }
  });
  return image;
}

/** Draws the click points (green: foreground, red: background) and the box, sized for `scale` image px per CSS px. */
export function drawPrompts(ctx, points, box, scale) {
  ctx.lineWidth = 2 * scale;
  if (box) {
    const [x0, y0, x1, y1] = box;
    ctx.strokeStyle = "#ffd400";
    ctx.setLineDash([6 * scale, 4 * scale]);
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    ctx.setLineDash([]);
  }
  for (const [x, y, label] of points) {
    ctx.beginPath();
    ctx.arc(x, y, 6 * scale, 0, 2 * Math.PI);
    ctx.fillStyle = label === 1 ? "#22c55e" : "#ef4444";
    ctx.fill();
    ctx.strokeStyle = "#fff";
    ctx.stroke();
  }
}

/** The mask as a black-and-white PNG blob (white inside), at the image's size. */
export function maskToPng(mask) {
  const canvas = document.createElement("canvas");
  canvas.width = mask.width;
  canvas.height = mask.height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(mask.width, mask.height);
  for (let i = 0; i < mask.data.length; i++) {
    const v = mask.data[i] ? 255 : 0;
    image.data[i * 4] = image.data[i * 4 + 1] = image.data[i * 4 + 2] = v;
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return new Promise(resolve => canvas.toBlob(resolve, "image/png"));
}

/**
 * A small picture of a mask for the candidate list: the image, with the mask over it in `colour`, made
 * at the thumbnail's own size (the mask sampled at each thumbnail pixel) so it costs nothing per click.
 */
export function drawThumbnail(canvas, mask, colour, image) {
  const ctx = canvas.getContext("2d");
  const fit = Math.min(canvas.width / mask.width, canvas.height / mask.height);
  const w = Math.max(1, Math.round(mask.width * fit)), h = Math.max(1, Math.round(mask.height * fit));
  const x0 = Math.floor((canvas.width - w) / 2), y0 = Math.floor((canvas.height - h) / 2);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, x0, y0, w, h);
  const pixels = ctx.getImageData(x0, y0, w, h);
  const [r, g, b] = colour;
  for (let y = 0; y < h; y++) {
    const row = Math.min(mask.height - 1, Math.floor((y + 0.5) / fit)) * mask.width;
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      if (mask.data[row + Math.min(mask.width - 1, Math.floor((x + 0.5) / fit))]) {
        pixels.data[o] = (pixels.data[o] + 2 * r) / 3;
        pixels.data[o + 1] = (pixels.data[o + 1] + 2 * g) / 3;
        pixels.data[o + 2] = (pixels.data[o + 2] + 2 * b) / 3;
      } else {
        pixels.data[o] *= 0.35; pixels.data[o + 1] *= 0.35; pixels.data[o + 2] *= 0.35;
      }
    }
  }
  ctx.putImageData(pixels, x0, y0);
}
