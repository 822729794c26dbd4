{{- define "zhanqun.name" -}}{{ .Release.Name }}{{- end -}}
{{- define "zhanqun.headless" -}}{{ .Release.Name }}-peers{{- end -}}
{{- define "zhanqun.labels" -}}
app.kubernetes.io/name: zhanqun
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "zhanqun.secretName" -}}
{{- if .Values.clusterSecret.existingSecret -}}{{ .Values.clusterSecret.existingSecret }}{{- else -}}{{ .Release.Name }}-cluster{{- end -}}
{{- end -}}
