// The job form: what it sends, and the server's 422 detail shown by each field.

const form = document.getElementById("job-form");
const formError = document.getElementById("form-error");

export function selectedKind() {
  return form.querySelector("input[name=kind]:checked").value;
}

export function showKind() {
  const kind = selectedKind();
  for (const group of form.querySelectorAll(".params")) group.hidden = group.dataset.kind !== kind;
}

// Numbers go as numbers; anything else goes as typed, for the server to explain.
function numberOrRaw(value) {
  const n = Number(value);
  return value.trim() !== "" && Number.isFinite(n) ? n : value;
}

export function readParams(kind) {
  const value = (name) => form.elements[name].value;
  if (kind === "sleep") {
    return { steps: numberOrRaw(value("steps")), wait: numberOrRaw(value("wait")) };
  }
  const params = {
    urls: value("urls").split("\n").map((u) => u.trim()).filter(Boolean),
    delay: numberOrRaw(value("delay")),
  };
  if (value("selector").trim()) params.selector = value("selector").trim();
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
    const slot = form.querySelector(`.field-error[data-for="${loc.slice(0, 2).join(".")}"]`);
    if (!slot || slot.closest(".params").hidden) {
      loose.push(item.message);
      continue;
    }
    const line = loc.length > 2 && /^\d+$/.test(loc[2]) ? `Line ${Number(loc[2]) + 1}: ` : "";
    slot.textContent = [slot.textContent, line + item.message].filter(Boolean).join(" ");
    const input = document.getElementById(slot.id.replace(/-error$/, ""));
    input.setAttribute("aria-invalid", "true");
    first = first || input;
  }
  if (loose.length) formError.textContent = loose.join(" ");
  if (first) first.focus();
}
