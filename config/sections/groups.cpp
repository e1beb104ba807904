// $.groups: the grouping rules (collector/aggregate/settings.h).
#include <utility>

#include "config/sections.h"

namespace thx::config_json {
namespace {

// Every placeholder of a rule's group must be one of its named captures, or name / path.
NameSet placeholders_of(const GroupRule& rule) {
  NameSet names{"name", "path"};
  for (const auto* regex : {&rule.name, &rule.path, &rule.command_line}) {
    if (regex->has_value()) {
      for (auto& capture : (*regex)->capture_names()) {
        names.insert(std::move(capture));
      }
    }
  }
  return names;
}

void read_rule(Reader& reader, const Json& json, const std::string& path,
               std::vector<GroupRule>& rules) {
  Fields fields(reader, json, path, {"group", "name", "path", "command_line"});
  if (!fields.valid()) {
    return;
  }
  GroupRule rule;
  const std::size_t errors_before = reader.error_count();
  fields.get("name", rule.name);
  fields.get("path", rule.path);
  fields.get("command_line", rule.command_line);
  const bool matchers_ok = reader.error_count() == errors_before;
  const Json* group = fields.find("group");
  if (group == nullptr) {
    reader.error(fields.path("group"), "missing: every rule needs a group name template");
  } else if (auto text = reader.string(*group, fields.path("group"), non_empty_problem)) {
    // A broken regex has no captures to check against: that error is enough.
    const auto problem =
        matchers_ok ? template_problem(*text, placeholders_of(rule)) : std::nullopt;
    if (problem) {
      reader.error(fields.path("group"), *problem);
    }
    rule.group = std::move(*text);
  }
  rules.push_back(std::move(rule));
}

}  // namespace

void read_groups(Reader& reader, const Json& json, const std::string& path,
                 GroupingSettings& grouping) {
  Fields fields(reader, json, path, {"rules", "unmatched_group"});
  if (const Json* rules = fields.find("rules")) {
    reader.elements(*rules, fields.path("rules"), [&](const Json& rule, const std::string& at) {
      read_rule(reader, rule, at, grouping.rules);
    });
  }
  fields.get("unmatched_group", grouping.unmatched_group, unmatched_group_problem);
}

}  // namespace thx::config_json
