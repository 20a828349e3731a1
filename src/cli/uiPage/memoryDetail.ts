/// <reference lib="dom" />
/**
 * One memory: its fields, its content, its history as a timeline (stored, updated, reinforced, superseded by, and
 * when it expires), and edit / expire / delete, each confirmed first (absent on a read-only inspector).
 *
 * @since 0.2.0
 */
import { confirmAction, errorLine, fill, get, h, num, post, time } from "./dom.js"
import type { Detail, EventJson, Info, MemoryJson } from "./types.js"

const eventLine = (e: EventJson): HTMLElement => {
  const at = h("time", {}, time(e.at))
  switch (e._tag) {
    case "stored":
      return h("li", { class: "stored" }, at, e.imported === true ? "imported" : "inserted")
    case "updated":
      return h("li", { class: "updated" }, at, `updated ${e.changes.map((c) => c.field).join(", ")}`,
        ...e.changes.map((c) => h("div", { class: "muted" }, `${c.field}: ${JSON.stringify(c.before ?? null)} → ${JSON.stringify(c.after ?? null)}`.slice(0, 300))))
    case "reinforced":
      return h("li", { class: "reinforced" }, at, `reinforced (${e.reinforcementCount}×)`)
    case "superseded":
      return h("li", { class: "superseded" }, at, "superseded by ", h("code", {}, e.by))
  }
}

const fields = (m: MemoryJson) => {
  const rows: Array<readonly [string, string | undefined]> = [
    ["id", m.id],
    ["namespace", m.namespace],
    ["type", m.contentType],
    ["source", m.confidence.source],
    ["confidence", num(m.confidenceNow)],
    ["reinforced", String(m.confidence.reinforcementCount)],
    ["superseded", m.confidence.superseded ? `yes${m.confidence.supersededBy ? ` (by ${m.confidence.supersededBy})` : ""}` : undefined],
    ["tags", m.metadata.tags?.join(", ")],
    ["subject", m.metadata.subject],
    ["predicate", m.metadata.predicate],
    ["session", m.sessionId],
    ["thread", m.workstreamId],
    ["source path", m.metadata.sourcePath],
    ["source url", m.metadata.sourceUrl],
    ["extra", m.metadata.extra && Object.keys(m.metadata.extra).length > 0 ? JSON.stringify(m.metadata.extra) : undefined],
    ["created", time(m.createdAt)],
    ["updated", time(m.updatedAt)],
    ["accessed", `${time(m.accessedAt)} (${m.accessCount}×)`],
    ["expires", m.expiresAt ? time(m.expiresAt) : undefined]
  ]
  return h("dl", { class: "fields" }, ...rows.filter((r) => r[1] !== undefined).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "")]))
}

const editor = (panel: HTMLElement, m: MemoryJson, done: () => void) => {
  const content = h("textarea", { rows: 8, style: undefined, "data-testid": "edit-content" })
  content.value = m.content
  content.style.width = "100%"
  const tags = h("input", { size: 30, "data-testid": "edit-tags" })
  tags.value = (m.metadata.tags ?? []).join(", ")
  const status = h("div")
  const save = async () => {
    if (!(await confirmAction("Save the changes to this memory? Changed content is embedded again.", "Save"))) return
    try {
      await post("/api/memory/edit", { id: m.id, content: content.value, tags: tags.value.split(",").map((t) => t.trim()).filter((t) => t !== "") })
      done()
    } catch (e) {
      fill(status, errorLine(e))
    }
  }
  fill(
    panel,
    h("h2", {}, "Edit memory"),
    content,
    h("label", {}, "tags ", tags),
    h("div", { class: "actions" }, h("button", { class: "primary", onclick: () => void save() }, "Save"), h("button", { onclick: done }, "Cancel")),
    status
  )
}

/** Shows memory `id` in `panel`; `changed` runs after a write so the list shows it. */
export const showDetail = async (panel: HTMLElement, id: string, info: Info, changed: () => void): Promise<void> => {
  fill(panel, h("p", { class: "muted" }, "loading…"))
  let d: Detail
  try {
    d = await get<Detail>("/api/memory", { id })
  } catch (e) {
    return fill(panel, errorLine(e))
  }
  const m = d.memory
  const status = h("div")
  const act = (path: string, question: string, action: string, after: () => void) => async () => {
    if (!(await confirmAction(question, action))) return
    try {
      await post(path, { id: m.id })
      after()
      changed()
    } catch (e) {
      fill(status, errorLine(e))
    }
  }
  const gone = (what: string) => () => fill(panel, h("p", { class: "muted", "data-testid": "detail-gone" }, `Memory ${m.id} ${what}.`))
  const actions = info.readOnly ? null : h(
    "div",
    { class: "actions" },
    h("button", { "data-testid": "edit", onclick: () => editor(panel, m, () => void showDetail(panel, id, info, changed).then(changed)) }, "Edit"),
    h("button", {
      "data-testid": "expire",
      onclick: act("/api/memory/expire", "Expire this memory now? Reads stop returning it; sweep deletes it later.", "Expire", gone("expired"))
    }, "Expire"),
    h("button", {
      class: "danger",
      "data-testid": "delete",
      onclick: act("/api/memory/delete", "Delete this memory for good, with its vector and history?", "Delete", gone("deleted"))
    }, "Delete")
  )
  const expiry = m.expiresAt ? [h("li", { class: "expires" }, h("time", {}, time(m.expiresAt)), "expires")] : []
  fill(
    panel,
    h("h2", {}, `${m.contentType} memory`),
    fields(m),
    h("pre", { "data-testid": "detail-content" }, m.content),
    h("h2", {}, "History"),
    h("ol", { class: "timeline", "data-testid": "history" }, ...d.history.map(eventLine), ...expiry),
    actions,
    status
  )
}
