// "Longest idle with a skill threshold": offer the candidates whose level in one skill is at
// least `minLevel`, longest idle first. Configuration: {"skill": "billing", "minLevel": 50}.
//
// Implements world `routing-policy` of `stratus:routing@1.0.0` (plugins/wit/routing.wit).
// Built with jco's QuickJS backend: records arrive as objects with camelCase keys, variants
// are `{ tag, val }`, and a `result<_, string>` export returns normally for `ok` and throws
// the string for `err`.

// What the built-in policies wait when nobody can be offered (their `recheckSeconds` default).
const RECHECK_SECONDS = 10;
// Keeps every reason we build under the host's 200-character limit, whatever the skill name.
const MAX_SKILL_NAME = 100;

// Returns the configuration or throws a string that names the field and the problem: the
// host shows that string to whoever assigned the configuration.
function parseConfig(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw `configuration is not valid JSON: ${e.message}`;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw "configuration: expected an object";
  }
  for (const key of Object.keys(value)) {
    if (key !== "skill" && key !== "minLevel") {
      throw `${key}: unknown field (expected: skill, minLevel)`;
    }
  }
  const { skill, minLevel } = value;
  if (skill === undefined) throw "skill: missing (expected a skill name)";
  if (typeof skill !== "string") throw `skill: expected a string, got ${JSON.stringify(skill)}`;
  if (skill.length === 0 || skill.length > MAX_SKILL_NAME) {
    throw `skill: expected 1 to ${MAX_SKILL_NAME} characters, got ${skill.length}`;
  }
  if (minLevel === undefined) throw "minLevel: missing (expected an integer from 0 to 100)";
  if (!Number.isInteger(minLevel) || minLevel < 0 || minLevel > 100) {
    throw `minLevel: expected an integer from 0 to 100, got ${JSON.stringify(minLevel)}`;
  }
  return { skill, minLevel };
}

export function validateConfig(config) {
  parseConfig(config);
}

export function decide(task, skillNames, candidates, context) {
  // Every decision runs in a fresh instance, so the configuration is parsed each time. The
  // host only passes configurations that validated; if one did not, the throw traps and the
  // host's fallback (longest idle) decides, which is the right outcome for a broken config.
  const { skill, minLevel } = parseConfig(context.config);

  // Skill levels come as one row-major table (a row per candidate, a column per skill name)
  // so that no strings cross the boundary per candidate. A skill missing from the table is
  // one nobody has (level 0), as in the built-in skill-based policy.
  const width = skillNames.length;
  const column = skillNames.indexOf(skill);
  const levelOf = (i) => (column < 0 ? 0 : candidates.skillLevels[i * width + column]);

  const qualifying = [];
  for (let i = 0; i < candidates.count; i++) {
    if (levelOf(i) >= minLevel) qualifying.push(i);
  }

  if (qualifying.length === 0) {
    // Like the built-in skill-based policy past its last step (no overflow configured): keep
    // the task queued and ask again, since a qualified agent may become free at any moment.
    return {
      decision: { tag: "wait", val: RECHECK_SECONDS },
      reason: `none of ${candidates.count} candidates has ${skill} >= ${minLevel}; waiting`,
    };
  }

  // The host requires the same inputs to give the same decision: ties on idle time go to the
  // lower index, so the order is total.
  const idle = candidates.idleSeconds;
  qualifying.sort((a, b) => idle[b] - idle[a] || a - b);

  return {
    decision: { tag: "offer", val: { order: qualifying, simultaneous: false } },
    reason: `${qualifying.length} of ${candidates.count} candidates have ${skill} >= ${minLevel}; longest idle first`,
  };
}
