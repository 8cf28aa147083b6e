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

/** A small picture of a mask for the candidate list: the image, with the mask over it in `colour`. */
export function drawThumbnail(canvas, mask, colour, image) {
  const full = document.createElement("canvas");
  full.width = mask.width;
  full.height = mask.height;
  const fullCtx = full.getContext("2d");
  fullCtx.drawImage(image, 0, 0);
  const pixels = fullCtx.getImageData(0, 0, mask.width, mask.height);
  const [r, g, b] = colour;
  for (let i = 0; i < mask.data.length; i++) {
    const o = i * 4;
    if (mask.data[i]) {
      pixels.data[o] = (pixels.data[o] + 2 * r) / 3;
      pixels.data[o + 1] = (pixels.data[o + 1] + 2 * g) / 3;
      pixels.data[o + 2] = (pixels.data[o + 2] + 2 * b) / 3;
    } else {
      pixels.data[o] *= 0.35; pixels.data[o + 1] *= 0.35; pixels.data[o + 2] *= 0.35;
    }
  }
  fullCtx.putImageData(pixels, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const fit = Math.min(canvas.width / mask.width, canvas.height / mask.height);
  const w = mask.width * fit, h = mask.height * fit;
  ctx.drawImage(full, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
}
