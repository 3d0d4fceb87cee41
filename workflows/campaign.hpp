#pragma once
// A campaign directory: nurture.yaml, workflows/*.yaml, templates/. Loading checks everything that can be checked
// without running: the language, references between workflows, templates and connectors.

#include <filesystem>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "workflows/config.hpp"
#include "workflows/diagnostic.hpp"
#include "workflows/model.hpp"
#include "workflows/scoring.hpp"

namespace nurture::workflows {

struct Campaign {
  std::filesystem::path dir;
  Config config;
  std::vector<Workflow> workflows;  // sorted by id
  Scoring scoring;                  // scoring.yaml; empty without one
  std::vector<Segment> segments;    // segments.yaml, sorted by name; empty without one
  std::string segments_source;      // its text: what the stored leads' membership was computed against
  std::vector<ScheduledPost> posts;  // posts/*.yaml, by time then id
  std::vector<Broadcast> broadcasts;  // broadcasts/*.yaml, by id
  std::filesystem::path templates_dir;
  std::string config_file_shown = "nurture.yaml";  // as diagnostics name it

  const Workflow* workflow(std::string_view id) const;
  const Segment* segment(std::string_view name) const;
  const ScheduledPost* post(std::string_view id) const;
  const Broadcast* broadcast(std::string_view id) const;
};

// Parses one workflow file. `shown_name` is what diagnostics call the file (e.g. `workflows/welcome.yaml`).
// `default_email_connector` fills `email` steps that name none.
tl::expected<Workflow, Diagnostics> load_workflow(const std::filesystem::path& path, const std::string& shown_name,
                                                  const std::string& default_email_connector = {});

// The same, reporting into `diagnostics` and returning what could be read even when there are errors, so
// checks across files can still run on it.
Workflow parse_workflow_file(const std::filesystem::path& path, const std::string& shown_name,
                             const std::string& default_email_connector, Diagnostics& diagnostics);

// The same from text (a version pinned in the store, say).
Workflow parse_workflow_text(const std::string& text, const std::string& shown_name,
                             const std::string& default_email_connector, Diagnostics& diagnostics);

// Parses scoring.yaml.
tl::expected<Scoring, Diagnostics> load_scoring(const std::filesystem::path& path, const std::string& shown_name);

// Parses segments.yaml: `NAME: condition` for each segment. Names a segment refers to are checked by
// load_campaign, which knows them all.
tl::expected<std::vector<Segment>, Diagnostics> load_segments(const std::filesystem::path& path,
                                                              const std::string& shown_name);

// Parses one broadcast file (`broadcasts/NAME.yaml`). Its segment, templates and connector are checked by
// load_campaign.
tl::expected<Broadcast, Diagnostics> load_broadcast(const std::filesystem::path& path, const std::string& shown_name,
                                                    const std::string& default_email_connector = {});
// The same from text.
tl::expected<Broadcast, Diagnostics> parse_broadcast_text(const std::string& text, const std::string& shown_name,
                                                          const std::string& default_email_connector = {});

// Parses one scheduled post file (`posts/NAME.yaml`). Its connectors and template are checked by load_campaign.
tl::expected<ScheduledPost, Diagnostics> load_post(const std::filesystem::path& path, const std::string& shown_name);
// The same from text.
tl::expected<ScheduledPost, Diagnostics> parse_post_text(const std::string& text, const std::string& shown_name);

// `segment:` references in the segments themselves, scoring stages and `workflows`: the names exist, and no
// segment contains itself.
void check_segment_references(const Campaign& campaign, const std::vector<Workflow>& workflows,
                              Diagnostics& diagnostics);

// Parses nurture.yaml.
tl::expected<Config, Diagnostics> load_config(const std::filesystem::path& path, const std::string& shown_name);

struct CampaignLoad {
  Campaign campaign;
  Diagnostics diagnostics;  // warnings, and errors when loading failed
  bool ok() const { return !has_errors(diagnostics); }
};

// Loads the whole directory, reporting every problem found, not just the first.
// `config_path` empty: DIR/nurture.yaml.
CampaignLoad load_campaign(const std::filesystem::path& dir, const std::filesystem::path& config_path = {});

}  // namespace nurture::workflows
