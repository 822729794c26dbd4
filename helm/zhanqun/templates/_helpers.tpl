{{- define "zhanqun.name" -}}{{ .Release.Name }}{{- end -}}
{{- define "zhanqun.headless" -}}{{ .Release.Name }}-peers{{- end -}}
{{- define "zhanqun.labels" -}}
app.kubernetes.io/name: zhanqun
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "zhanqun.secretName" -}}
{{- if .Values.clusterSecret.existingSecret -}}{{ .Values.clusterSecret.existingSecret }}{{- else -}}{{ .Release.Name }}-cluster{{- end -}}
{{- end -}}

{{/* Where attachments are: the same for the node and the restore. */}}
{{- define "zhanqun.blobEnv" -}}
{{- with .Values.attachments.s3 }}
{{- if .bucket }}
- { name: ZHANQUN_S3_BUCKET, value: {{ .bucket | quote }} }
- { name: AWS_REGION, value: {{ .region | quote }} }
{{- if .endpoint }}
- { name: ZHANQUN_S3_ENDPOINT, value: {{ .endpoint | quote }} }
{{- end }}
{{- end }}
{{- end }}
{{- if and (not .Values.attachments.s3.bucket) .Values.attachments.sharedVolumeClaim }}
- { name: ZHANQUN_BLOBS_DIR, value: /blobs }
{{- end }}
{{- end -}}
{{- define "zhanqun.blobEnvFrom" -}}
{{- if .Values.attachments.s3.credentialsSecret }}
envFrom:
  - secretRef: { name: {{ .Values.attachments.s3.credentialsSecret }} }
{{- end }}
{{- end -}}
