// The job form, built from the kinds the server runs: a picker, one control per
// param of the chosen kind, and the server's 422 detail shown by each field.

import { fieldsOf, initialText, valueOf } from "./schema.js";

const form = document.getElementById("job-form");
const picker = document.getElementById("kinds");
const description = document.getElementById("kind-description");
const paramsBox = document.getElementById("params");
const formError = document.getElementById("form-error");

let kinds = [];
let fields = [];

function element(tag, props = {}, ...children) {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
}

export function showKinds(list) {
  kinds = list;
  for (const [i, kind] of list.entries()) {
    const radio = element("input", { type: "radio", name: "kind", value: kind.name, checked: i === 0 });
    radio.addEventListener("change", showKind);
    picker.append(element("label", { className: "kind" }, radio, ` ${kind.title}`));
  }
  showKind();
}

export function selectedKind() {
  const name = (form.querySelector("input[name=kind]:checked") || {}).value;
  return kinds.find((kind) => kind.name === name);
}

function controlFor(field, id) {
  const common = { id, name: field.name };
  if (field.control === "checkbox") {
    return element("input", { ...common, type: "checkbox", checked: field.initial === true });
  }
  if (field.control === "choice") {
    const select = element("select", common);
    if (field.optional || field.initial === undefined) select.append(element("option", { value: "" }, "–"));
    for (const [i, choice] of field.choices.entries()) {
      select.append(element("option", { value: String(i) }, String(choice)));
    }
    select.value = initialText(field);
    return select;
  }
  if (field.control === "lines" || field.control === "json") {
    const rows = field.control === "lines" ? 5 : 3;
    return element("textarea", { ...common, rows, spellcheck: false, value: initialText(field) });
  }
  const input = element("input", { ...common, type: "text", spellcheck: false, value: initialText(field) });
  if (field.control === "number") {
    input.type = "number";
    input.inputMode = field.schema.type === "integer" ? "numeric" : "decimal";
    input.step = String(field.schema.multipleOf ?? (field.schema.type === "integer" ? 1 : "any"));
    if (field.limits.low != null) input.min = String(field.limits.low);
    if (field.limits.high != null) input.max = String(field.limits.high);
  } else if (field.schema.maxLength != null) {
    input.maxLength = field.schema.maxLength;
  }
  return input;
}

function fieldBox(field) {
  const id = `param-${field.name}`;
  const control = controlFor(field, id);
  control.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
  const label = element("label", { htmlFor: id }, field.label);
  if (field.optional) label.append(" ", element("span", { className: "optional" }, "(optional)"));
  const box = element("div", { className: "field" });
  box.classList.toggle("wide", control.tagName === "TEXTAREA");
  box.classList.toggle("check", field.control === "checkbox");
  const hint = element("p", { className: "hint", id: `${id}-hint` }, field.hint);
  const error = element("p", { className: "field-error", id: `${id}-error` });
  error.dataset.for = `params.${field.name}`;
  box.append(label, control, hint, error);
  return box;
}

export function showKind() {
  const kind = selectedKind();
  clearErrors();
  description.textContent = kind ? kind.description : "";
  fields = kind ? fieldsOf(kind.params) : [];
  paramsBox.replaceChildren(...fields.map(fieldBox));
}

export function readParams() {
  const params = {};
  for (const field of fields) {
    const control = document.getElementById(`param-${field.name}`);
    const value = valueOf(field, control.value, control.checked);
    if (value !== undefined) params[field.name] = value;
  }
  return params;
}

export function clearErrors() {
  formError.textContent = "";
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

export function showFormError(text) {
  formError.textContent = text;
}

// detail[].loc is like ["params", "steps"] or ["params", "urls", 3].
export function showDetail(detail) {
  let first = null;
  const loose = [];
  for (const item of detail || []) {
    const loc = (item.loc || []).map(String);
    const slot = paramsBox.querySelector(`[data-for="${CSS.escape(loc.slice(0, 2).join("."))}"]`);
    if (!slot) {
      loose.push(item.message);
      continue;
    }
    const line = loc.length > 2 && /^\d+$/.test(loc[2]) ? `Line ${Number(loc[2]) + 1}: ` : "";
    slot.textContent = [slot.textContent, line + item.message].filter(Boolean).join(" ");
    const control = document.getElementById(slot.id.replace(/-error$/, ""));
    control.setAttribute("aria-invalid", "true");
    first = first || control;
  }
  if (loose.length) formError.textContent = loose.join(" ");
  if (first) first.focus();
}

const keyPrompt = document.getElementById("key-prompt");
const keyInput = document.getElementById("api-key");
const keyHint = document.getElementById("api-key-hint");

// After a 401: an inline field for the server's API key, not a prompt() dialog.
export function askForKey(refused) {
  keyPrompt.hidden = false;
  keyHint.textContent = refused
    ? "The server refused that key. Check it and press Start again."
    : "This server asks for an API key to start jobs. Enter it and press Start; this tab keeps it.";
  keyInput.setAttribute("aria-invalid", String(refused));
  keyInput.focus();
}

// The key typed into the prompt, if it is showing and filled in.
export function typedKey() {
  return keyPrompt.hidden ? "" : keyInput.value.trim();
}

export function keyAccepted() {
  keyPrompt.hidden = true;
  keyInput.value = "";
}
