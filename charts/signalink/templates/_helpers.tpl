{{/* Names, labels, resource presets and the value compaction of the signalink chart. */}}

{{/* The Signalink resource's name: owned objects append a role, so at most 40 characters. */}}
{{- define "signalink.name" -}}
{{- $name := default .Release.Name .Values.nameOverride -}}
{{- if gt (len $name) 40 -}}
{{- fail (printf "the Signalink name %q is longer than 40 characters (owned objects append a role to it): set nameOverride" $name) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) -}}
{{- fail (printf "the Signalink name %q must be a DNS-1035 label (lower case letters, digits and '-', starting with a letter): set nameOverride" $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "signalink.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of what the chart itself creates (the operator labels what it creates). */}}
{{- define "signalink.labels" -}}
helm.sh/chart: {{ include "signalink.chart" . }}
app.kubernetes.io/name: signalink
app.kubernetes.io/instance: {{ include "signalink.name" . }}
app.kubernetes.io/part-of: signalink
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "signalink.generatedSecretName" -}}
{{- printf "%s-secrets" (include "signalink.name" .) -}}
{{- end -}}

{{/* Whether the chart has to generate a Secret at all (a key nobody supplied). */}}
{{- define "signalink.needsGeneratedSecret" -}}
{{- if or (not .Values.jwt.existingSecret) (and .Values.email.enabled (not .Values.email.unsubscribe.existingSecret)) -}}true{{- end -}}
{{- end -}}

{{/*
Drops what the user left unset (null, "", empty maps and lists) from a map, recursively, so the
CRD's defaults apply; false and 0 are kept (they were set on purpose).
*/}}
{{- define "signalink.compact" -}}
{{- $out := dict -}}
{{- range $k, $v := . -}}
{{- if kindIs "map" $v -}}
{{- $c := include "signalink.compact" $v | fromJson -}}
{{- if $c -}}{{- $_ := set $out $k $c -}}{{- end -}}
{{- else if kindIs "slice" $v -}}
{{- if $v -}}{{- $_ := set $out $k $v -}}{{- end -}}
{{- else if kindIs "invalid" $v -}}
{{- else if and (kindIs "string" $v) (eq $v "") -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
Requests and limits of a Signalink process by preset name (called with (list $preset
$resources)): explicit resources win, "" leaves the CRD's per-role default.
*/}}
{{- define "signalink.resources" -}}
{{- $preset := index . 0 -}}
{{- $explicit := index . 1 -}}
{{- $presets := dict
  "nano" (dict "requests" (dict "cpu" "50m" "memory" "128Mi") "limits" (dict "cpu" "250m" "memory" "256Mi"))
  "micro" (dict "requests" (dict "cpu" "100m" "memory" "192Mi") "limits" (dict "cpu" "500m" "memory" "384Mi"))
  "small" (dict "requests" (dict "cpu" "250m" "memory" "256Mi") "limits" (dict "cpu" "1" "memory" "512Mi"))
  "medium" (dict "requests" (dict "cpu" "500m" "memory" "512Mi") "limits" (dict "cpu" "2" "memory" "1Gi"))
  "large" (dict "requests" (dict "cpu" "1" "memory" "1Gi") "limits" (dict "cpu" "4" "memory" "2Gi"))
  "xlarge" (dict "requests" (dict "cpu" "2" "memory" "2Gi") "limits" (dict "cpu" "8" "memory" "4Gi"))
-}}
{{- if $explicit -}}
{{- toJson $explicit -}}
{{- else if $preset -}}
{{- toJson (index $presets $preset) -}}
{{- else -}}
{{- toJson (dict) -}}
{{- end -}}
{{- end -}}

{{/* Pull secret names from global.imagePullSecrets and imagePullSecrets, as [{name}]. */}}
{{- define "signalink.imagePullSecrets" -}}
{{- $out := list -}}
{{- range concat (.Values.global.imagePullSecrets | default list) (.Values.imagePullSecrets | default list) -}}
{{- $name := . -}}
{{- if kindIs "map" . -}}{{- $name = .name -}}{{- end -}}
{{- $out = append $out (dict "name" $name) -}}
{{- end -}}
{{- toJson (uniq $out) -}}
{{- end -}}
