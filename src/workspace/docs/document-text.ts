import type { docs_v1 } from '@googleapis/docs';

/**
 * The plain text of a Google Docs document: paragraphs in order, table cells and tables of contents included,
 * as Docs itself shows them. Google's API has no plain-text view of a document, so it is read off the structure.
 */
export function documentText(doc: docs_v1.Schema$Document): string {
  return contentText(doc.body?.content ?? []);
}

function contentText(content: docs_v1.Schema$StructuralElement[]): string {
  let out = '';
  for (const el of content) {
    if (el.paragraph) out += (el.paragraph.elements ?? []).map((e) => e.textRun?.content ?? '').join('');
    else if (el.table) {
      for (const row of el.table.tableRows ?? []) {
        out += (row.tableCells ?? []).map((cell) => contentText(cell.content ?? []).replace(/\n+$/, '')).join('\t') + '\n';
      }
    } else if (el.tableOfContents) out += contentText(el.tableOfContents.content ?? []);
  }
  return out;
}
