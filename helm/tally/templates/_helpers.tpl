{{/* The chart name. */}}
{{- define "tally.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release-wide name prefix. */}}
{{- define "tally.fullname" -}}
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

{{/* chart label value */}}
{{- define "tally.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every resource carries. */}}
{{- define "tally.labels" -}}
helm.sh/chart: {{ include "tally.chart" . }}
app.kubernetes.io/name: {{ include "tally.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tally
{{- end -}}

{{/* Selector labels of one service: (dict "root" $ "service" "gateway"). */}}
{{- define "tally.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tally.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{/* Name of one service's resources. */}}
{{- define "tally.serviceName" -}}
{{- printf "%s-%s" (include "tally.fullname" .root) .service | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Maven module (and image suffix) of a service. */}}
{{- define "tally.module" -}}
{{- if eq .service "gateway" -}}api-gateway{{- else -}}{{ .service }}-service{{- end -}}
{{- end -}}

{{/* The image of one service. */}}
{{- define "tally.image" -}}
{{- $root := .root -}}
{{- $repository := printf "%s-%s" $root.Values.image.repository (include "tally.module" .) -}}
{{- $tag := default $root.Chart.AppVersion $root.Values.image.tag -}}
{{- if $root.Values.image.registry -}}
{{- printf "%s/%s:%s" $root.Values.image.registry $repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The port variable of a service. */}}
{{- define "tally.portVariable" -}}
TALLY_{{ .service | upper }}_PORT
{{- end -}}

{{/* The Secret holding the credentials. */}}
{{- define "tally.secretName" -}}
{{- default (printf "%s-credentials" (include "tally.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{/* The ServiceAccount name. */}}
{{- define "tally.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tally.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The port spans are sent to: the tracing endpoint's, or its scheme's. */}}
{{- define "tally.tracingPort" -}}
{{- $url := urlParse .Values.tracing.endpoint -}}
{{- $hostPort := splitList ":" $url.host -}}
{{- if gt (len $hostPort) 1 }}{{ last $hostPort }}{{ else if eq $url.scheme "https" }}443{{ else }}80{{ end -}}
{{- end }}
