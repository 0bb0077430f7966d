package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

// Settings tabs (admin-ui.md §11.9).
const (
	tabSecurity = "security"
	tabAccount  = "account"
	tabSessions = "sessions"
	tabBackup   = "backup"
)

// Messages of the settings area.
const (
	msgChangedElsewhere = "Settings were changed elsewhere. Reload to see the current settings; nothing was saved."
	msgSecuritySaved    = "Security settings saved."
)

// settingsTab is one link of the settings section navigation.
type settingsTab struct {
	Key, Label string
	Current    bool
}

// settingsPage is the data of /settings: the tab shown and its content.
type settingsPage struct {
	Tab      string
	Tabs     []settingsTab
	Security *securityForm
	Account  *accountForm
	Sessions *sessionsView
	Backup   *backupView
	// StaleCheck is the answer of GET /settings/stale.
	StaleCheck *staleView
}

// enumSetting describes one enumerated setting of the Security form; the
// first option is the most restrictive.
type enumSetting struct {
	Key, Label, Hint string
	Options          []enumChoice
}

type enumChoice struct {
	Value, Label string
	// Warning is set on the less secure option.
	Warning string
	// Relaxation names the change in the confirmation dialog.
	Relaxation string
}

// securitySettings are the enumerated settings of §11.9, in form order.
func securitySettings() []enumSetting {
	return []enumSetting{
		{Key: string(proto.SettingToolApprovalMode), Label: "Tool approval", Options: []enumChoice{
			{Value: string(proto.ApprovalRequired), Label: "Require approval"},
			{
				Value: string(proto.ApprovalAuto), Label: "Auto-approve",
				Warning:    "LLM-written code will run without review.",
				Relaxation: "Tool approval: tools are approved automatically, so LLM-written code runs without your review.",
			},
		}},
		{Key: string(proto.SettingPackageApprovalMode), Label: "Package approval", Options: []enumChoice{
			{Value: string(proto.ApprovalRequired), Label: "Require approval"},
			{
				Value: string(proto.ApprovalAuto), Label: "Auto-approve",
				Warning:    "Approvable Go packages will be granted to tools without review.",
				Relaxation: "Package approval: approvable Go packages are granted automatically.",
			},
		}},
		{Key: string(proto.SettingNetworkAccessPolicy), Label: "Network access", Hint: "Private ranges stay blocked by the SSRF policy either way.", Options: []enumChoice{
			{Value: string(proto.NetworkApprovedHostsOnly), Label: "Approved hosts only"},
			{
				Value: string(proto.NetworkAllowAllPublic), Label: "Any public host",
				Warning:    "Tools may reach any public host without review, and send it whatever they read.",
				Relaxation: "Network access: tools may reach any public host without review.",
			},
		}},
		{Key: string(proto.SettingRemoteToolEditing), Label: "Remote tool editing", Hint: "It also gates remote test runs.", Options: []enumChoice{
			{Value: string(proto.ToggleDisabled), Label: "Off"},
			{
				Value: string(proto.ToggleEnabled), Label: "On",
				Warning:    "Remote LLM clients may create and change tools and run tests.",
				Relaxation: "Remote tool editing: remote LLM clients may create and change tools and run tests.",
			},
		}},
		{Key: string(proto.SettingRedactSecretsInOutput), Label: "Secret redaction in output", Options: []enumChoice{
			{Value: string(proto.ToggleEnabled), Label: "On"},
			{
				Value: string(proto.ToggleDisabled), Label: "Off",
				Warning:    "Secret values a tool prints or returns will reach the client and the logs unredacted.",
				Relaxation: "Secret redaction: secret values in tool output are no longer redacted.",
			},
		}},
	}
}

// enumValue returns a policy's value of an enumerated setting.
func enumValue(p policy.Policy, key string) string {
	switch proto.SettingKey(key) {
	case proto.SettingToolApprovalMode:
		return p.ToolApprovalMode
	case proto.SettingPackageApprovalMode:
		return p.PackageApprovalMode
	case proto.SettingNetworkAccessPolicy:
		return p.NetworkAccessPolicy
	case proto.SettingRemoteToolEditing:
		return p.RemoteToolEditing
	case proto.SettingRedactSecretsInOutput:
		return p.RedactSecretsInOutput
	}
	return ""
}

// Messages of the number fields: the policy service's own.
func retentionMessage() string {
	return fmt.Sprintf("%s: must be an integer between %d and %d (days).", proto.SettingLogRetentionDays, proto.MinLogRetentionDays, proto.MaxLogRetentionDays)
}

func rateLimitMessage() string {
	return fmt.Sprintf("%s: must be an integer between %d and %d (calls per minute per caller).", proto.SettingMCPRateLimitRPM, proto.MinMCPRateLimitRPM, proto.MaxMCPRateLimitRPM)
}

// securityForm is the data of the Security tab.
type securityForm struct {
	Revision  int64
	Settings  []securityControl
	Retention field
	RateLimit field
	// The bounds and messages of the number fields.
	RetentionMin, RetentionMax, RateMin, RateMax int
	RetentionMsg, RateMsg                        string
	// Pending lists the relaxations a plain post must confirm (the
	// server-side confirmation panel); empty otherwise.
	Pending []string
	// Relaxable lists the settings whose saved value is the restrictive
	// one: the confirmation dialog names each one the admin selects.
	Relaxable []securityControl
	// Stale: the save was refused because the settings changed elsewhere.
	Stale bool
	// Kept is the policy's note on approvals kept after tightening.
	Kept string
	// Watch re-checks the revision on the settings event.
	Watch staleView
	formProblems
}

// securityControl is one enumerated setting as rendered.
type securityControl struct {
	Key, Label, Hint string
	// LessSecure: the saved value is the less secure one ("Less secure"
	// badge).
	LessSecure bool
	Relaxation string
	Options    []securityOption
}

type securityOption struct {
	// Name is the setting's key (the radio group's name).
	Name                      string
	ID, Value, Label, Warning string
	Checked                   bool
	// Confirm: choosing this option relaxes the saved policy.
	Confirm bool
}

// newSecurityForm builds the form from the saved policy, with chosen
// values (key → value) when the admin submitted some.
func newSecurityForm(saved policy.Policy, rev int64, chosen map[string]string) *securityForm {
	f := &securityForm{
		Revision:     rev,
		Watch:        staleView{Revision: rev, From: "settings"},
		Retention:    field{Value: strconv.Itoa(saved.LogRetentionDays)},
		RateLimit:    field{Value: strconv.Itoa(saved.MCPRateLimitRPM)},
		RetentionMin: proto.MinLogRetentionDays, RetentionMax: proto.MaxLogRetentionDays,
		RateMin: proto.MinMCPRateLimitRPM, RateMax: proto.MaxMCPRateLimitRPM,
		RetentionMsg: retentionMessage(), RateMsg: rateLimitMessage(),
	}
	for _, s := range securitySettings() {
		cur := enumValue(saved, s.Key)
		pick := cur
		if v, ok := chosen[s.Key]; ok {
			pick = v
		}
		c := securityControl{Key: s.Key, Label: s.Label, Hint: s.Hint, LessSecure: cur != s.Options[0].Value, Relaxation: s.Options[1].Relaxation}
		for _, o := range s.Options {
			c.Options = append(c.Options, securityOption{
				Name: s.Key, ID: "sec-" + s.Key + "-" + o.Value, Value: o.Value, Label: o.Label, Warning: o.Warning,
				Checked: o.Value == pick, Confirm: o.Warning != "" && !c.LessSecure,
			})
		}
		f.Settings = append(f.Settings, c)
		if !c.LessSecure {
			f.Relaxable = append(f.Relaxable, c)
		}
	}
	return f
}

// settingsShow is GET /settings?tab=security|account|sessions|backup.
func (h *handler) settingsShow(w http.ResponseWriter, r *http.Request, st *state) error {
	tab := r.URL.Query().Get("tab")
	data := settingsPage{}
	switch tab {
	case tabAccount:
		data.Account = &accountForm{}
	case tabSessions:
		v, err := h.sessionsView(r, st)
		if err != nil {
			return err
		}
		data.Sessions = v
	case tabBackup:
		data.Backup = &backupView{OnConflict: "skip"}
	default:
		tab = tabSecurity
		saved, rev, err := h.d.Policy.Get(r.Context())
		if err != nil {
			return err
		}
		data.Security = newSecurityForm(saved, rev, nil)
	}
	return h.renderSettings(w, r, st, http.StatusOK, tab, data, "")
}

// renderSettings renders the settings page with tab; fragment is the
// template an htmx request gets ("" = the page's content).
func (h *handler) renderSettings(w http.ResponseWriter, r *http.Request, st *state, status int, tab string, data settingsPage, fragment string) error {
	data.Tab = tab
	for _, t := range []settingsTab{{Key: tabSecurity, Label: "Security"}, {Key: tabAccount, Label: "Account"}, {Key: tabSessions, Label: "Sessions"}, {Key: tabBackup, Label: "Backup"}} {
		t.Current = t.Key == tab
		data.Tabs = append(data.Tabs, t)
	}
	return h.render(w, r, st, page{Status: status, Name: "settings", Title: "Settings", Nav: navSettings, Data: data, Fragment: fragment})
}

// settingsSecuritySave is POST /settings/security (twin: PATCH
// /api/v1/settings/security-policy): every setting of the form with the
// revision the admin read, in one request.
func (h *handler) settingsSecuritySave(w http.ResponseWriter, r *http.Request, st *state) error {
	ctx := r.Context()
	saved, rev, err := h.d.Policy.Get(ctx)
	if err != nil {
		return err
	}
	chosen := map[string]string{}
	for _, s := range securitySettings() {
		chosen[s.Key] = r.PostFormValue(s.Key)
	}
	seen, seenErr := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	if seenErr != nil || seen < 0 {
		seen = rev
	}
	f := newSecurityForm(saved, seen, chosen)
	f.Retention.Value = strings.TrimSpace(r.PostFormValue(string(proto.SettingLogRetentionDays)))
	f.RateLimit.Value = strings.TrimSpace(r.PostFormValue(string(proto.SettingMCPRateLimitRPM)))
	retention, rerr := strconv.Atoi(f.Retention.Value)
	if rerr != nil || retention < proto.MinLogRetentionDays || retention > proto.MaxLogRetentionDays {
		f.add(&f.Retention, "sec-"+string(proto.SettingLogRetentionDays), retentionMessage())
	}
	rate, perr := strconv.Atoi(f.RateLimit.Value)
	if perr != nil || rate < proto.MinMCPRateLimitRPM || rate > proto.MaxMCPRateLimitRPM {
		f.add(&f.RateLimit, "sec-"+string(proto.SettingMCPRateLimitRPM), rateLimitMessage())
	}
	if f.any() {
		return h.renderSecurity(w, r, st, http.StatusUnprocessableEntity, f)
	}
	// A relaxation not confirmed (a post without the dialog): the panel
	// listing each one.
	if r.PostFormValue("confirm") != "1" {
		for _, s := range securitySettings() {
			if enumValue(saved, s.Key) == s.Options[0].Value && chosen[s.Key] == s.Options[1].Value {
				f.Pending = append(f.Pending, s.Options[1].Relaxation)
			}
		}
		if len(f.Pending) > 0 {
			return h.renderSecurity(w, r, st, http.StatusOK, f)
		}
	}
	patch := map[string]json.RawMessage{}
	for k, v := range chosen {
		raw, _ := json.Marshal(v) //nolint:errchkjson // a string always encodes
		patch[k] = raw
	}
	patch[string(proto.SettingLogRetentionDays)] = json.RawMessage(strconv.Itoa(retention))
	patch[string(proto.SettingMCPRateLimitRPM)] = json.RawMessage(strconv.Itoa(rate))
	res, err := h.d.Policy.Patch(ctx, st.p.Actor(), st.reqID, patch, &seen)
	var vc *policy.VersionChangedError
	switch {
	case errors.As(err, &vc):
		f.Stale = true
		return h.renderSecurity(w, r, st, http.StatusConflict, f)
	case len(policy.FieldErrors(err)) > 0:
		for _, fe := range policy.FieldErrors(err) {
			switch fe.Field {
			case string(proto.SettingLogRetentionDays):
				f.add(&f.Retention, "sec-"+fe.Field, fe.Message)
			case string(proto.SettingMCPRateLimitRPM):
				f.add(&f.RateLimit, "sec-"+fe.Field, fe.Message)
			default:
				f.Summary = append(f.Summary, summaryItem{Href: "#sec-" + fe.Field + "-" + chosen[fe.Field], Message: fe.Message})
			}
		}
		return h.renderSecurity(w, r, st, http.StatusUnprocessableEntity, f)
	case err != nil:
		return err
	}
	if !st.htmx {
		h.redirect(w, r, st, "/settings?tab=security")
		return nil
	}
	out := newSecurityForm(res.Policy, res.Revision, nil)
	msg := msgSecuritySaved
	if res.KeptPolicyApprovals != nil {
		out.Kept = res.KeptPolicyApprovals.Message
		msg += " " + res.KeptPolicyApprovals.Message
	}
	toast(w, "info", msg, "")
	return h.renderSecurity(w, r, st, http.StatusOK, out)
}

func (h *handler) renderSecurity(w http.ResponseWriter, r *http.Request, st *state, status int, f *securityForm) error {
	return h.renderSettings(w, r, st, status, tabSecurity, settingsPage{Security: f}, "settings-security-form")
}

// staleView is the data of the "changed elsewhere" check.
type staleView struct {
	Revision int64
	From     string // settings or remote-access: the page to reload
	Stale    bool
}

// settingsStale is GET /settings/stale?revision=&from=: re-fetched on
// the settings event, it says "Settings were changed elsewhere" when the
// settings revision moved past the one the page shows.
func (h *handler) settingsStale(w http.ResponseWriter, r *http.Request, st *state) error {
	q := r.URL.Query()
	seen, err := strconv.ParseInt(q.Get("revision"), 10, 64)
	if err != nil || seen < 0 {
		return h.notFound(w, r, st)
	}
	from := "settings"
	if q.Get("from") == "remote-access" {
		from = "remote-access"
	}
	_, rev, err := h.d.Policy.Get(r.Context())
	if err != nil {
		return err
	}
	v := staleView{Revision: seen, From: from, Stale: rev != seen}
	return h.renderSettings(w, r, st, http.StatusOK, tabSecurity, settingsPage{StaleCheck: &v}, "settings-stale")
}
