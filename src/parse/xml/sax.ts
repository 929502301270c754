/** `sax` (strict mode) behind the XmlTokenizer interface. */
import sax from 'sax';
import { type XmlHandler, type XmlTokenizer, localName } from './tokenizer.ts';

export function createSaxTokenizer(handler: XmlHandler, onDoctype: (body: string) => void): XmlTokenizer {
  // strictEntities: only the five XML entities, never sax's HTML table (&nbsp; and friends).
  const options = { position: true, trim: false, normalize: false, xmlns: false, strictEntities: true } as sax.SAXOptions;
  const parser = sax.parser(true, options);
  let rootSeen = false;
  parser.onopentag = (node) => {
    rootSeen = true;
    handler.open(localName(node.name), node.attributes as Record<string, string>);
  };
  parser.onclosetag = () => handler.close();
  parser.ontext = (text) => handler.text(text);
  parser.oncdata = (text) => handler.text(text);
  parser.ondoctype = (body) => onDoctype(body);
  parser.onerror = (error) => {
    throw error;
  };
  return {
    write(text) {
      parser.write(text);
    },
    end() {
      parser.close();
      // sax accepts a document without any element; saxes and fast do not.
      if (!rootSeen) throw new Error('unexpected end: document must contain a root element');
    },
    position() {
      return { line: parser.line + 1, column: parser.column + 1, charOffset: parser.position };
    },
  };
}
