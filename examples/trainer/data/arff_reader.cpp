// SPDX-License-Identifier: Apache-2.0
#include "data/arff_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/data_error.hpp"
#include "data/detail/csr_builder.hpp"
#include "data/detail/text_file.hpp"

namespace longtail_train {
namespace {

using detail::quote;
using detail::trim;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

/// The first whitespace-delimited word of `s` (for keywords).
std::string_view first_word(std::string_view s) {
  std::size_t end = 0;
  while (end < s.size() && !is_space(s[end])) ++end;
  return s.substr(0, end);
}

/// Removes one level of '...' or "..." quotes.
std::string_view unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front())
    return s.substr(1, s.size() - 2);
  return s;
}

// ---- the Mulan labels XML -----------------------------------------------------------------------

struct XmlLabel {
  std::string name;  // XML entities decoded, ARFF backslash escapes removed
  std::size_t line;
};

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// An XML attribute value as the ARFF spells the same name: entities (&amp; &lt; &gt; &quot;
/// &apos; &#N; &#xH;) decoded, then backslash escapes removed as in ARFF names (Mulan's Delicious
/// XML has name="TAG_m\'usica" for the ARFF attribute TAG_m\'usica, i.e. TAG_m'usica).
std::string decode_xml_name(std::string_view raw) {
  std::string decoded;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::size_t semi = raw[i] == '&' ? raw.find(';', i) : std::string_view::npos;
    if (semi == std::string_view::npos) {
      decoded += raw[i];
      continue;
    }
    const std::string_view entity = raw.substr(i + 1, semi - i - 1);
    unsigned long cp = 0;
    bool known = true;
    if (entity == "amp")
      cp = '&';
    else if (entity == "lt")
      cp = '<';
    else if (entity == "gt")
      cp = '>';
    else if (entity == "quot")
      cp = '"';
    else if (entity == "apos")
      cp = '\'';
    else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string_view digits = entity.substr(hex ? 2 : 1);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      known = !digits.empty() && ec == std::errc() && end == digits.data() + digits.size() && cp <= 0x10FFFF;
    } else {
      known = false;
    }
    if (!known) {
      decoded += raw[i];  // not an entity: keep the '&'
      continue;
    }
    append_utf8(decoded, cp);
    i = semi;
  }
  std::string name;
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    if (decoded[i] == '\\' && i + 1 < decoded.size()) ++i;
    name += decoded[i];
  }
  return name;
}

/// The <label name="..."> elements of a Mulan labels XML file, in document order (nested labels of
/// a hierarchy included), skipping comments. Throws data_error naming the XML line for a <label>
/// without a name, a name listed twice, and a file without <label> elements.
std::vector<XmlLabel> read_mulan_xml_labels(const std::string& xml_path) {
  const std::string text = detail::read_whole_file(xml_path, "Mulan labels XML");
  std::vector<XmlLabel> labels;
  std::unordered_map<std::string, std::size_t> line_of;
  std::size_t line = 1, counted_to = 0;  // line number of position counted_to
  auto line_at = [&](std::size_t pos) {
    line += static_cast<std::size_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(counted_to),
                                                text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
    counted_to = pos;
    return line;
  };
  for (std::size_t pos = text.find('<'); pos != std::string::npos; pos = text.find('<', pos + 1)) {
    if (text.compare(pos, 4, "<!--") == 0) {
      pos = text.find("-->", pos + 4);
      if (pos == std::string::npos) break;
      continue;
    }
    if (text.compare(pos, 6, "<label") != 0) continue;
    const char next = pos + 6 < text.size() ? text[pos + 6] : '\0';
    if (!(next == ' ' || next == '\t' || next == '\n' || next == '\r' || next == '>' || next == '/'))
      continue;  // <labels>
    const std::size_t element_line = line_at(pos);
    const std::size_t close = text.find('>', pos);
    const std::string_view tag =
        std::string_view(text).substr(pos + 6, (close == std::string::npos ? text.size() : close) - pos - 6);
    // name="..." or name='...', preceded by white space.
    std::size_t at = 0;
    std::string_view value;
    bool found = false;
    while (!found && (at = tag.find("name", at)) != std::string_view::npos) {
      const bool word_start =
          at > 0 && (tag[at - 1] == ' ' || tag[at - 1] == '\t' || tag[at - 1] == '\n' || tag[at - 1] == '\r');
      std::size_t k = at + 4;
      while (k < tag.size() && (tag[k] == ' ' || tag[k] == '\t' || tag[k] == '\n' || tag[k] == '\r')) ++k;
      if (word_start && k < tag.size() && tag[k] == '=') {
        ++k;
        while (k < tag.size() && (tag[k] == ' ' || tag[k] == '\t' || tag[k] == '\n' || tag[k] == '\r')) ++k;
        const char q = k < tag.size() ? tag[k] : '\0';
        const std::size_t end = q == '"' || q == '\'' ? tag.find(q, k + 1) : std::string_view::npos;
        if (end != std::string_view::npos) {
          value = tag.substr(k + 1, end - k - 1);
          found = true;
        }
      }
      at += 4;
    }
    if (!found)
      throw data_error(xml_path, element_line,
                       "<label> element without a name attribute (expected <label name=\"...\">)");
    std::string name = decode_xml_name(value);
    const auto [it, fresh] = line_of.emplace(name, element_line);
    if (!fresh)
      throw data_error(xml_path, element_line,
                       "label " + quote(name) + " is listed twice (first on line " + std::to_string(it->second) + ")");
    labels.push_back({std::move(name), element_line});
  }
  if (labels.empty()) throw data_error(xml_path, 0, "no <label> elements found (expected a Mulan labels XML file)");
  return labels;
}

// ---- the ARFF file ------------------------------------------------------------------------------

struct Attribute {
  std::string name;
  std::size_t line = 0;  // of its @attribute declaration
  bool nominal = false;
  std::vector<std::string> values;  // nominal values (all numeric)
};

class ArffParser {
 public:
  ArffParser(const std::string& path, std::string text) : path_(path), text_(std::move(text)), lines_(text_) {}

  /// Header: @relation / @attribute lines up to @data.
  void read_header() {
    std::string_view line;
    while (lines_.next(line)) {
      line = trim(line);
      if (line.empty() || line.front() == '%') continue;
      const std::string_view keyword = first_word(line);
      if (iequals(keyword, "@relation")) continue;
      if (iequals(keyword, "@attribute")) {
        attributes_.push_back(parse_attribute(trim(line.substr(keyword.size()))));
        continue;
      }
      if (iequals(keyword, "@data")) {
        if (attributes_.empty()) fail("@data before any @attribute line");
        return;
      }
      fail("expected @relation, @attribute or @data in the header, got " + quote(line));
    }
    throw data_error(path_, lines_.number(), "missing @data line (expected '@data' after the @attribute lines)");
  }

  /// Every label of the Mulan XML must be one of the last L = labels.size() attributes: a name
  /// missing from the ARFF, or naming an attribute the reader would take as a feature (the XML
  /// lists fewer labels than the ARFF has, or a feature), is an error at the XML's line. The
  /// names are distinct, so they then name exactly the last L attributes (in any order).
  void check_label_names(const std::vector<XmlLabel>& labels, const std::string& xml_path) const {
    const auto num_attributes = static_cast<long long>(attributes_.size());
    const long long first_label = num_attributes - static_cast<long long>(labels.size());
    std::unordered_map<std::string_view, std::size_t> index;
    for (std::size_t a = 0; a < attributes_.size(); ++a) index.emplace(attributes_[a].name, a);
    for (const XmlLabel& label : labels) {
      const auto it = index.find(label.name);
      if (it == index.end())
        throw data_error(xml_path, label.line,
                         "label " + quote(label.name) + " is not an attribute of " + path_ +
                             " (the XML must name the ARFF's label attributes)");
      if (static_cast<long long>(it->second) < first_label)
        throw data_error(xml_path, label.line,
                         "label " + quote(label.name) + " is attribute " + std::to_string(it->second) + " of " + path_ +
                             " (line " + std::to_string(attributes_[it->second].line) +
                             "), which would be read as a feature: with the " + std::to_string(labels.size()) +
                             " labels of this XML the labels are the last " + std::to_string(labels.size()) +
                             " attributes (" + std::to_string(first_label) + ".." + std::to_string(num_attributes - 1) +
                             "); the XML and the ARFF disagree");
    }
  }

  Dataset read_data(int num_labels) {
    const auto num_attributes = static_cast<int>(attributes_.size());
    if (num_labels >= num_attributes)
      throw data_error(path_, 0,
                       "has " + std::to_string(num_attributes) + " attributes, too few for " +
                           std::to_string(num_labels) + " labels plus at least one feature");
    const int num_features = num_attributes - num_labels;
    for (int a = num_features; a < num_attributes; ++a) {
      const Attribute& attr = attributes_[static_cast<std::size_t>(a)];
      if (attr.nominal) {
        for (const auto& v : attr.values)
          if (v != "0" && v != "1")
            throw data_error(path_, attr.line,
                             "label attribute " + quote(attr.name) + " (attribute " + std::to_string(a) +
                                 ") must be {0,1} or numeric, it has the nominal value " + quote(v));
      }
    }
    detail::CsrBuilder features, labels;
    std::string_view line;
    while (lines_.next(line)) {
      line = trim(line);
      if (line.empty() || line.front() == '%') continue;
      if (line.front() == '{')
        read_sparse_row(line, num_features, features, labels);
      else
        read_dense_row(line, num_features, features, labels);
      features.end_row();
      labels.end_row();
    }
    Dataset d;
    const auto slash = path_.find_last_of("/\\");
    d.name = slash == std::string::npos ? path_ : path_.substr(slash + 1);
    features.check_size(path_, "feature");
    labels.check_size(path_, "label");
    d.features = features.build(num_features);
    d.labels = labels.build(num_labels);
    for (int a = 0; a < num_attributes; ++a) {
      auto& name = attributes_[static_cast<std::size_t>(a)].name;
      if (a < num_features) {
        d.feature_names.push_back(std::move(name));
      } else {
        d.label_set.names.push_back(std::move(name));
        d.label_set.parent.push_back(-1);
        d.label_set.tier.push_back(0);
      }
    }
    return d;
  }

  std::size_t num_attributes() const { return attributes_.size(); }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw data_error(path_, lines_.number(), what); }

  // @attribute <name> <type>; name possibly quoted, backslash escapes allowed.
  Attribute parse_attribute(std::string_view rest) {
    Attribute attr;
    attr.line = lines_.number();
    std::size_t i = 0;
    if (rest.empty()) fail("expected '@attribute <name> <type>', the name is missing");
    const char q = rest[0];
    if (q == '\'' || q == '"') {
      for (i = 1;; ++i) {
        if (i >= rest.size()) fail("unterminated quoted attribute name (expected a closing " + std::string(1, q) + ")");
        if (rest[i] == '\\' && i + 1 < rest.size()) {
          attr.name += rest[++i];
        } else if (rest[i] == q) {
          ++i;
          break;
        } else {
          attr.name += rest[i];
        }
      }
    } else {
      for (; i < rest.size() && !is_space(rest[i]) && rest[i] != '{'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        attr.name += rest[i];
      }
    }
    const std::string_view type = trim(rest.substr(i));
    if (type.empty())
      fail("expected a type after the attribute name " + quote(attr.name) + " (numeric, real, integer or {0,1})");
    if (type.front() == '{') {
      if (type.back() != '}') fail("expected '}' at the end of the nominal values of attribute " + quote(attr.name));
      attr.nominal = true;
      std::string_view values = type.substr(1, type.size() - 2);
      while (true) {
        const std::size_t comma = values.find(',');
        const std::string_view v = unquote(trim(values.substr(0, comma)));
        float number = 0;
        if (!detail::parse_float(v, number))
          fail("attribute " + quote(attr.name) + ": nominal value " + quote(v) +
               " is not a number (only numeric nominal values such as {0,1} are supported)");
        attr.values.emplace_back(v);
        if (comma == std::string_view::npos) break;
        values.remove_prefix(comma + 1);
      }
      return attr;
    }
    const std::string_view word = first_word(type);
    if (iequals(word, "numeric") || iequals(word, "real") || iequals(word, "integer")) return attr;
    if (iequals(word, "string") || iequals(word, "date") || iequals(word, "relational"))
      fail("attribute " + quote(attr.name) + " has the unsupported type " + quote(word) +
           " (expected numeric, real, integer or a numeric nominal such as {0,1})");
    fail("attribute " + quote(attr.name) + " has an unknown type " + quote(word) +
         " (expected numeric, real, integer or {0,1})");
  }

  // Parses one value of attribute `a` and stores it (zeros are not stored).
  void store(int a, std::string_view text, int num_features, detail::CsrBuilder& features, detail::CsrBuilder& labels) {
    const Attribute& attr = attributes_[static_cast<std::size_t>(a)];
    text = unquote(trim(text));
    if (text == "?")
      fail("missing value '?' for attribute " + std::to_string(a) + " " + quote(attr.name) + " (not supported)");
    if (attr.nominal && std::find(attr.values.begin(), attr.values.end(), text) == attr.values.end())
      fail("value " + quote(text) + " is not one of the nominal values of attribute " + std::to_string(a) + " " +
           quote(attr.name));
    float value = 0;
    if (!detail::parse_float(text, value))
      fail("expected a number for attribute " + std::to_string(a) + " " + quote(attr.name) + ", got " + quote(text));
    if (a >= num_features) {
      if (value != 0 && value != 1)
        fail("label attribute " + std::to_string(a) + " " + quote(attr.name) + " must be 0 or 1, got " + quote(text));
      if (value == 1) labels.add(a - num_features, 1.0f);
    } else if (value != 0) {
      features.add(a, value);
    }
  }

  void read_sparse_row(std::string_view line, int num_features, detail::CsrBuilder& features,
                       detail::CsrBuilder& labels) {
    const std::size_t close = line.find('}');
    if (close == std::string_view::npos) fail("expected '}' at the end of the sparse row");
    const std::string_view after = trim(line.substr(close + 1));
    if (!after.empty()) {
      if (after.front() == ',') fail("instance weights ('{...}, {w}') are not supported");
      fail("unexpected text after '}': " + quote(after));
    }
    std::string_view body = trim(line.substr(1, close - 1));
    if (body.empty()) return;
    long long previous = -1;
    for (;;) {
      const std::size_t comma = body.find(',');
      const std::string_view entry = trim(body.substr(0, comma));
      std::size_t space = 0;
      while (space < entry.size() && !is_space(entry[space])) ++space;
      const std::string_view index_text = entry.substr(0, space);
      const std::string_view value_text = trim(entry.substr(space));
      if (entry.empty() || value_text.empty())
        fail("expected '<index> <value>' in the sparse row, got " + quote(entry));
      long long index = 0;
      if (!detail::parse_int64(index_text, index))
        fail("expected an attribute index (integer) in the sparse row, got " + quote(index_text));
      if (index < 0 || index >= static_cast<long long>(attributes_.size()))
        fail("attribute index " + std::to_string(index) + " out of range (the file declares " +
             std::to_string(attributes_.size()) + " attributes, indices 0.." + std::to_string(attributes_.size() - 1) +
             ")");
      if (index <= previous)
        fail("attribute indices must be strictly increasing in a sparse row (" + std::to_string(index) + " after " +
             std::to_string(previous) + ")");
      previous = index;
      store(static_cast<int>(index), value_text, num_features, features, labels);
      if (comma == std::string_view::npos) break;
      body.remove_prefix(comma + 1);
    }
  }

  void read_dense_row(std::string_view line, int num_features, detail::CsrBuilder& features,
                      detail::CsrBuilder& labels) {
    const std::size_t count = static_cast<std::size_t>(std::count(line.begin(), line.end(), ',')) + 1;
    if (count != attributes_.size())
      fail("expected " + std::to_string(attributes_.size()) + " comma-separated values (one per @attribute), got " +
           std::to_string(count));
    int a = 0;
    for (;;) {
      const std::size_t comma = line.find(',');
      store(a++, line.substr(0, comma), num_features, features, labels);
      if (comma == std::string_view::npos) break;
      line.remove_prefix(comma + 1);
    }
  }

  std::string path_;
  std::string text_;
  detail::LineCursor lines_;
  std::vector<Attribute> attributes_;
};

}  // namespace

int count_mulan_xml_labels(const std::string& xml_path) {
  return static_cast<int>(read_mulan_xml_labels(xml_path).size());
}

Dataset read_mulan_arff(const std::string& arff_path, int num_labels_or_0, const std::string& xml_path_or_empty) {
  if (num_labels_or_0 < 0)
    throw std::invalid_argument("read_mulan_arff: the number of labels must be >= 0 (got " +
                                std::to_string(num_labels_or_0) + ")");
  int num_labels = num_labels_or_0;
  std::vector<XmlLabel> xml_labels;
  if (!xml_path_or_empty.empty()) {
    xml_labels = read_mulan_xml_labels(xml_path_or_empty);
    const auto from_xml = static_cast<int>(xml_labels.size());
    if (num_labels != 0 && num_labels != from_xml)
      throw data_error(xml_path_or_empty, 0,
                       "has " + std::to_string(from_xml) + " <label> elements but " + std::to_string(num_labels) +
                           " labels were requested");
    num_labels = from_xml;
  }
  if (num_labels == 0)
    throw std::invalid_argument("read_mulan_arff(" + arff_path +
                                "): give the number of labels (the last L attributes) or the Mulan XML file");
  ArffParser parser(arff_path, detail::read_whole_file(arff_path, "ARFF file"));
  parser.read_header();
  if (!xml_labels.empty() && static_cast<std::size_t>(num_labels) < parser.num_attributes())
    parser.check_label_names(xml_labels, xml_path_or_empty);
  return parser.read_data(num_labels);
}

}  // namespace longtail_train
