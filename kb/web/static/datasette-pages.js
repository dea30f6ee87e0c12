// Column descriptions and the table's CREATE statements out of the way until asked for: Datasette
// lists the descriptions above a table's rows (about 1,900 px for documents) and the schema below;
// this folds each into a <details> the reader opens when wanted.
function fold(element, className, label) {
  const details = document.createElement("details");
  details.className = className;
  const summary = document.createElement("summary");
  summary.textContent = label;
  element.replaceWith(details);
  details.append(summary, element);
}

document.addEventListener("DOMContentLoaded", () => {
  const list = document.querySelector("dl.column-descriptions");
  if (list) {
    fold(list, "kb-column-descriptions", `What each column means (${list.querySelectorAll("dt").length} columns)`);
  }
  const schema = document.querySelector("body.table pre.wrapped-sql");
  if (schema) fold(schema, "kb-schema", "The table's SQL schema");
  // A row page shows one field under the other (datasette-pages.css): each field names its column.
  if (document.body.classList.contains("row")) {
    const names = [...document.querySelectorAll("table.rows-and-columns thead th")].map((th) => th.textContent.trim());
    document.querySelectorAll("table.rows-and-columns tbody tr").forEach((tr) => {
      [...tr.children].forEach((td, i) => { td.dataset.column = names[i] || ""; });
    });
  }
});
