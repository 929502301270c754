/** `saxes` behind the XmlTokenizer interface (namespaces off: prefixes are stripped here). */
import { SaxesParser } from 'saxes';
import { type XmlHandler, type XmlTokenizer, localName } from './tokenizer.ts';

export function createSaxesTokenizer(handler: XmlHandler, onDoctype: (body: string) => void): XmlTokenizer {
  const parser = new SaxesParser({ xmlns: false, position: true });
  parser.on('opentag', (node) => handler.open(localName(node.name), node.attributes as Record<string, string>));
  parser.on('closetag', () => handler.close());
  const text = (t: string): void => handler.text(t);
  parser.on('text', text);
  parser.on('cdata', text);
  parser.on('doctype', (body) => onDoctype(body));
  // No 'error' handler: saxes then throws from write()/close(), which is what we want.
  return {
    write(text) {
      parser.write(text);
    },
    end() {
      parser.close();
    },
    position() {
      return { line: parser.line, column: parser.column + 1, charOffset: parser.position };
    },
  };
}
