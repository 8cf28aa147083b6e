// COCO compressed RLE, as pycocotools writes it (rleToString / rleFrString in maskApi.c): run lengths
// of a column-major mask, alternating 0s and 1s and starting with 0s; each run is stored as the
// difference from the run two before it (from the third on), in 5-bit groups, least significant first,
// each group offset by 48 with bit 0x20 meaning "more groups follow" and bit 0x10 of the last group the sign.

/** The run lengths of a COCO compressed RLE string. Throws on a malformed string. */
export function decodeCounts(text) {
  const counts = [];
  let p = 0;
  while (p < text.length) {
    let value = 0, shift = 0, more = true;
    while (more) {
      if (p >= text.length) throw new Error("malformed COCO RLE: the string ends inside a run");
      const c = text.charCodeAt(p++) - 48;
      if (c < 0 || c > 63) throw new Error(`malformed COCO RLE: character ${JSON.stringify(text[p - 1])}`);
      value |= (c & 0x1f) << shift;
      shift += 5;
      more = (c & 0x20) !== 0;
      if (!more && (c & 0x10) !== 0) value |= -1 << shift;
      if (shift > 35) throw new Error("malformed COCO RLE: a run is too long");
    }
    if (counts.length > 2) value += counts[counts.length - 2];
    if (value < 0) throw new Error("malformed COCO RLE: a negative run");
    counts.push(value);
  }
  return counts;
}

/**
 * A mask from `{"size": [h, w], "counts": "..."}` (counts as the compressed string or the uncompressed
 * array): `{ height, width, data }` with data a row-major Uint8Array of 0/1, and its `area`.
 */
export function decodeMask(rle) {
  const [height, width] = rle.size;
  const counts = typeof rle.counts === "string" ? decodeCounts(rle.counts) : rle.counts;
  const total = height * width;
  const data = new Uint8Array(total);
  let index = 0, area = 0;
  for (let r = 0; r < counts.length; r++) {
    const end = index + counts[r];
    if (end > total) throw new Error(`COCO RLE runs cover more than ${height} x ${width} pixels`);
    if (r % 2 === 1) {
      // index i is column-major: column i / h, row i % h; walk down the column, then on to the next
      let row = index % height, column = (index - row) / height;
      for (let i = index; i < end; i++) {
        data[row * width + column] = 1;
        if (++row === height) { row = 0; column++; }
      }
      area += end - index;
    }
    index = end;
  }
  if (index !== total) throw new Error(`COCO RLE runs cover ${index} pixels, not ${height} x ${width}`);
  return { height, width, data, area };
}

/** The tight box of a decoded mask as COCO's [x, y, w, h] (inclusive pixel bounds), or [0, 0, 0, 0] if empty. */
export function maskBox(mask) {
  let x0 = mask.width, y0 = mask.height, x1 = -1, y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    const row = y * mask.width;
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[row + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
