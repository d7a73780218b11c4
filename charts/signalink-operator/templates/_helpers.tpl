{{/* Names, labels, the image reference and resource presets of the operator chart. */}}

{{- define "signalink-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "signalink-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "signalink-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "signalink-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "signalink-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "signalink-operator.labels" -}}
helm.sh/chart: {{ include "signalink-operator.chart" . }}
{{ include "signalink-operator.selectorLabels" . }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: signalink
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The helm test pod: not selected by the operator's Service, PDB or spread constraints. */}}
{{- define "signalink-operator.testLabels" -}}
helm.sh/chart: {{ include "signalink-operator.chart" . }}
app.kubernetes.io/name: {{ include "signalink-operator.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
app.kubernetes.io/part-of: signalink
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "signalink-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "signalink-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "signalink-operator.leaseName" -}}
{{- default (include "signalink-operator.fullname" .) .Values.leaderElection.leaseName -}}
{{- end -}}

{{/* registry/repository[:tag][@digest]; global.imageRegistry wins over image.registry. */}}
{{- define "signalink-operator.image" -}}
{{- $registry := .Values.global.imageRegistry | default .Values.image.registry -}}
{{- $ref := .Values.image.repository -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" $registry $ref -}}{{- end -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if $tag -}}{{- $ref = printf "%s:%s" $ref $tag -}}{{- end -}}
{{- if .Values.image.digest -}}{{- $ref = printf "%s@%s" $ref .Values.image.digest -}}{{- end -}}
{{- $ref -}}
{{- end -}}

{{- define "signalink-operator.imagePullSecrets" -}}
{{- $secrets := concat (.Values.global.imagePullSecrets | default list) (.Values.imagePullSecrets | default list) | uniq -}}
{{- if $secrets }}
imagePullSecrets:
{{- range $secrets }}
  - name: {{ if kindIs "map" . }}{{ .name }}{{ else }}{{ . }}{{ end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
Requests and limits by preset name; an explicit .Values.resources replaces the preset. Sized for
the operator: a Node process holding watches and a work queue (no data path).
*/}}
{{- define "signalink-operator.resources" -}}
{{- $presets := dict
  "nano" (dict "requests" (dict "cpu" "50m" "memory" "96Mi") "limits" (dict "cpu" "250m" "memory" "192Mi"))
  "micro" (dict "requests" (dict "cpu" "100m" "memory" "160Mi") "limits" (dict "cpu" "500m" "memory" "320Mi"))
  "small" (dict "requests" (dict "cpu" "250m" "memory" "256Mi") "limits" (dict "cpu" "1" "memory" "512Mi"))
  "medium" (dict "requests" (dict "cpu" "500m" "memory" "512Mi") "limits" (dict "cpu" "2" "memory" "1Gi"))
  "large" (dict "requests" (dict "cpu" "1" "memory" "1Gi") "limits" (dict "cpu" "4" "memory" "2Gi"))
  "xlarge" (dict "requests" (dict "cpu" "2" "memory" "2Gi") "limits" (dict "cpu" "8" "memory" "4Gi"))
-}}
{{- if .Values.resources -}}
{{- toYaml .Values.resources -}}
{{- else if ne .Values.resourcesPreset "none" -}}
{{- toYaml (index $presets .Values.resourcesPreset) -}}
{{- end -}}
{{- end -}}
