// What the form needs to know of each param, read from the kind's JSON Schema
// (pydantic's model_json_schema): which control, its limits, its default.
// No DOM here.

const LINE_ITEMS = ["string", "integer", "number"];

function withoutKey(schema, key) {
  const { [key]: _dropped, ...rest } = schema;
  return rest;
}

// A `$ref` into `$defs` (enums, nested models), or pydantic's one-item `allOf`
// around it; the outer title, description and default win.
function resolve(schema, root) {
  if (schema.$ref) {
    const target = (root.$defs || {})[schema.$ref.split("/").pop()] || {};
    return { ...resolve(target, root), ...withoutKey(schema, "$ref") };
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) {
    return { ...resolve(schema.allOf[0], root), ...withoutKey(schema, "allOf") };
  }
  return schema;
}

function controlOf(schema, optional, root) {
  if (Array.isArray(schema.enum)) return { control: "choice", choices: schema.enum };
  if (schema.type === "boolean") {
    // A checkbox cannot say "not set", so an optional one is a choice.
    return optional ? { control: "choice", choices: [true, false] } : { control: "checkbox" };
  }
  if (schema.type === "integer" || schema.type === "number") return { control: "number" };
  if (schema.type === "string") return { control: "text" };
  const items = schema.type === "array" ? resolve(schema.items || {}, root) : {};
  if (LINE_ITEMS.includes(items.type)) return { control: "lines", itemType: items.type };
  return { control: "json" };
}

function limitsOf(schema) {
  const low = schema.minimum ?? schema.exclusiveMinimum;
  const high = schema.maximum ?? schema.exclusiveMaximum;
  const words = [];
  if (schema.minimum != null && schema.maximum != null) {
    words.push(`From ${low} to ${high}.`);
  } else if (low != null || high != null) {
    const bounds = [
      schema.minimum != null ? `at least ${low}` : low != null ? `over ${low}` : "",
      schema.maximum != null ? `at most ${high}` : high != null ? `under ${high}` : "",
    ].filter(Boolean).join(", ");
    words.push(`${bounds[0].toUpperCase()}${bounds.slice(1)}.`);
  }
  if (schema.maxItems != null) words.push(`At most ${schema.maxItems} lines.`);
  return { low, high, words };
}

// One param: {name, label, hint, optional, initial, control, choices, itemType, schema, limits}.
export function fieldOf(name, raw, root) {
  const outer = resolve(raw, root);
  const options = (outer.anyOf || outer.oneOf || []).map((s) => resolve(s, root));
  const present = options.filter((s) => s.type !== "null");
  const optional = options.length > present.length;
  const schema = present.length === 1 ? { ...present[0], ...withoutKey(outer, "anyOf") } : outer;
  const shape = controlOf(schema, optional, root);
  const limits = limitsOf(schema);
  const hint = [outer.description || "", shape.control === "lines" ? "One per line." : ""]
    .concat(limits.words)
    .filter(Boolean)
    .join(" ");
  return { name, label: outer.title || name, hint, optional, initial: outer.default, schema, limits, ...shape };
}

export function fieldsOf(params) {
  return Object.entries(params.properties || {}).map(([name, raw]) => fieldOf(name, raw, params));
}

// Numbers go as numbers; anything else goes as typed, for the server to explain.
export function numberOrRaw(text) {
  const n = Number(text);
  return text.trim() !== "" && Number.isFinite(n) ? n : text;
}

function jsonOrRaw(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    return text;
  }
}

// The value to send for what the person typed; `undefined` leaves the param out
// (so its default applies, or the server says it is required).
export function valueOf(field, text, checked) {
  if (field.control === "checkbox") return checked;
  const blank = field.optional ? null : undefined;
  if (field.control === "lines") {
    const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
    if (!lines.length) return blank;
    return field.itemType === "string" ? lines : lines.map(numberOrRaw);
  }
  if (text.trim() === "") return blank;
  if (field.control === "number") return numberOrRaw(text);
  if (field.control === "choice") return field.choices[Number(text)];
  if (field.control === "json") return jsonOrRaw(text);
  return text;
}

// What the control shows at first: the default, in the control's own terms.
export function initialText(field) {
  const value = field.initial;
  if (value == null) return "";
  if (field.control === "lines") return value.join("\n");
  if (field.control === "choice") return String(field.choices.indexOf(value));
  if (field.control === "json") return JSON.stringify(value);
  return String(value);
}
