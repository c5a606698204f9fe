/**
 * Duplicate keys in a JSON text, which JSON.parse silently resolves to the last one: upstream's
 * decoder reports them as `duplicate field "metadata.name"` (an error under fieldValidation=Strict,
 * a warning under Warn). A single pass over the text; it assumes the text already parsed.
 */
export function duplicateFields(text: string): string[] {
  const found: string[] = [];
  // One frame per open object or array: its path, and for objects the keys seen so far.
  const stack: { path: string; keys?: Set<string>; index: number; key?: string }[] = [];
  let i = 0;
  const childPath = () => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    if (top.keys) return top.path ? `${top.path}.${top.key}` : (top.key ?? '');
    return `${top.path}[${top.index}]`;
  };
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      let k = j + 1;
      while (k < text.length && /\s/.test(text[k])) k++;
      if (top?.keys && text[k] === ':') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) found.push(top.path ? `${top.path}.${key}` : key);
        top.keys.add(key);
        top.key = key;
      }
      i = j + 1;
      continue;
    }
    if (ch === '{' || ch === '[') {
      const path = childPath();
      stack.push(ch === '{' ? { path, keys: new Set(), index: 0 } : { path, index: 0 });
    } else if (ch === '}' || ch === ']') stack.pop();
    else if (ch === ',') {
      const top = stack[stack.length - 1];
      if (top && !top.keys) top.index++;
    }
    i++;
  }
  return found;
}
