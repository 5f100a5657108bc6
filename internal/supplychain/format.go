package supplychain

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

// Formats of exposure reports.
var Formats = []string{"table", "json", "csv", "sarif"}

// WriteReport writes a report as a table, JSON, CSV or SARIF 2.1.0.
func WriteReport(w io.Writer, rep *Report, format string) error {
	switch format {
	case "", "table":
		return writeTable(w, rep)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "csv":
		return writeCSV(w, rep)
	case "sarif":
		return writeSARIF(w, rep)
	}
	return fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats, ", "))
}

func kevText(r *Row) string {
	if !r.KEV {
		return ""
	}
	s := "KEV"
	if r.KEVDue != "" {
		s += " due " + r.KEVDue
	}
	if r.KEVRansomware {
		s += " ransomware"
	}
	return s
}

func linkText(ls []Link) string {
	var parts []string
	for i, l := range ls {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("+%d", len(ls)-3))
			break
		}
		parts = append(parts, l.String())
	}
	return strings.Join(parts, "; ")
}

func writeTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tTIER\tPRIORITY\tASSET\tCOMPONENT\tDEP\tVULNERABILITY\tSEVERITY\tKEV\tEPSS\tFIXED\tSTATUS\tLINKS")
	for i := range rep.Rows {
		r := &rep.Rows[i]
		sev := r.Severity
		if r.CVSS > 0 {
			sev = fmt.Sprintf("%s %.1f", r.Severity, r.CVSS)
		}
		epss := ""
		if r.EPSS > 0 {
			epss = strconv.FormatFloat(r.EPSS, 'f', 3, 64)
		}
		comp := r.Component
		if r.Version != "" {
			comp += "@" + r.Version
		}
		fmt.Fprintf(tw, "%d\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Rank, r.Tier, r.Score, r.Asset, comp, r.Dependency,
			r.VulnID, sev, kevText(r), epss, r.FixedVersion, r.Status, linkText(r.Links))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Suppliers) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SUPPLIER\tASSETS\tFINDINGS\tKEV\tCRITICAL\tMAX PRIORITY\tTIER")
		for _, s := range rep.Suppliers {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.2f\t%s\n", s.Supplier, s.Assets, s.Findings, s.KEV, s.Critical, s.MaxPriority, s.Tier)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\n%d findings on %d assets\n", len(rep.Rows), rep.Assets)
	return nil
}

func writeCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"rank", "tier", "priority", "asset", "asset_id", "owner", "criticality", "cpsf_component", "cpsf_layer", "suppliers",
		"component", "version", "purl", "component_supplier", "dependency", "path", "vulnerability", "aliases", "summary", "severity",
		"cvss", "cvss_vector", "kev", "kev_due", "kev_ransomware", "epss", "epss_percentile", "fixed_version", "status", "justification", "links"})
	for i := range rep.Rows {
		r := &rep.Rows[i]
		var links []string
		for _, l := range r.Links {
			links = append(links, l.Type+":"+l.ID)
		}
		layer := ""
		if r.Layer > 0 {
			layer = strconv.Itoa(r.Layer)
		}
		cw.Write([]string{strconv.Itoa(r.Rank), r.Tier, strconv.FormatFloat(r.Score, 'f', 2, 64), r.Asset, r.AssetID, r.Owner, r.Criticality,
			r.Kind, layer, strings.Join(r.Suppliers, ";"), r.Component, r.Version, r.PURL, r.CompSupplier, r.Dependency,
			strings.Join(r.Path, " > "), r.VulnID, strings.Join(r.Aliases, ";"), r.Summary, r.Severity, floatOrEmpty(r.CVSS, 1), r.Vector,
			strconv.FormatBool(r.KEV), r.KEVDue, strconv.FormatBool(r.KEVRansomware), floatOrEmpty(r.EPSS, 5), floatOrEmpty(r.EPSSPct, 5),
			r.FixedVersion, r.Status, r.Justification, strings.Join(links, ";")})
	}
	cw.Flush()
	return cw.Error()
}

func floatOrEmpty(f float64, prec int) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}

// sarifLevel maps a tier to a SARIF level.
func sarifLevel(tier string) string {
	switch tier {
	case "P1", "P2":
		return "error"
	case "P3":
		return "warning"
	}
	return "note"
}

func writeSARIF(w io.Writer, rep *Report) error {
	run := sarif.NewRunWithInformationURI("mamori", "https://github.com/mamori-cti/mamori/blob/main/docs/supplychain.md")
	rules := map[string]bool{}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if !rules[r.VulnID] {
			rules[r.VulnID] = true
			desc := r.Summary
			if desc == "" {
				desc = r.VulnID
			}
			pb := sarif.NewPropertyBag()
			if r.CVSS > 0 {
				pb.Add("security-severity", strconv.FormatFloat(r.CVSS, 'f', 1, 64))
			}
			pb.Add("tags", []string{"security", "vulnerability"})
			run.AddRule(r.VulnID).WithDescription(desc).WithProperties(pb)
		}
		comp := r.Component
		if r.Version != "" {
			comp += "@" + r.Version
		}
		msg := fmt.Sprintf("%s in %s (%s) is affected by %s", comp, r.Asset, r.Dependency, r.VulnID)
		if r.FixedVersion != "" {
			msg += "; fixed in " + r.FixedVersion
		}
		if k := kevText(r); k != "" {
			msg += "; " + k
		}
		pb := sarif.NewPropertyBag()
		pb.Add("priority", r.Score)
		pb.Add("tier", r.Tier)
		pb.Add("asset", r.Asset)
		pb.Add("status", r.Status)
		if r.PURL != "" {
			pb.Add("purl", r.PURL)
		}
		if len(r.Aliases) > 0 {
			pb.Add("aliases", r.Aliases)
		}
		loc := sarif.NewLogicalLocation().WithName(comp).WithFullyQualifiedName(r.Asset + "/" + firstOr(r.PURL, comp)).WithKind("package")
		run.CreateResultForRule(r.VulnID).WithLevel(sarifLevel(r.Tier)).WithMessage(sarif.NewTextMessage(msg)).
			WithRank(min(r.Score*100/40, 100)).WithProperties(pb).
			AddLocation(sarif.NewLocation().AddLogicalLocation(loc)).
			WithPartialFingerprints(map[string]string{"mamori/v1": r.AssetID + "|" + firstOr(r.PURL, comp) + "|" + r.VulnID})
	}
	rp := sarif.NewReport()
	rp.AddRun(run)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rp)
}
