// The feedback photo: decoded with createImageBitmap (no blob: image, which the CSP refuses),
// scaled so its longer side is at most 1600 px, and re-encoded as a JPEG.
const MAX_SIDE = 1600;

export async function downscaled(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  if (!blob) throw new Error("the photo could not be encoded");
  canvas.className = "preview";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "反馈照片预览 Feedback photo preview");
  return { blob, preview: canvas };
}
