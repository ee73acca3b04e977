// Text from a journal (a name, a note, a URL, a command's stderr) written into HTML or SVG: it is
// data, never markup. Every character that could end a text node or an attribute value is an entity.

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` safe as element content and as a double- or single-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITY[ch]);
}
