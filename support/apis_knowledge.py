"""API of the knowledge base for support agents (DRF, in the OpenAPI schema): list and upload
documents, follow their indexing."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import IsSupportAgent, can_publish_knowledge
from eshop.api_fields import ProductRefField, product_for_ref
from eshop.models import Product
from support.apis_chat import CsrfAlways
from support.models import KnowledgeDocument
from support.models.knowledge import DocumentKind
from support.selectors.knowledge import knowledge_document_list
from support.services.knowledge import KnowledgeDocumentError, document_upload


class DocumentSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(read_only=True)
    product_slug = serializers.SlugRelatedField(source="product", slug_field="slug", read_only=True)
    url = serializers.SerializerMethodField()
    # The payload keeps the names clients read since before the job fields (core.jobs) were shared.
    index_status = serializers.CharField(source="status", read_only=True)
    index_error = serializers.CharField(source="error", read_only=True)

    class Meta:
        model = KnowledgeDocument
        fields = ["id", "title", "slug", "kind", "product", "product_slug", "format", "is_published", "index_status", "chunks_total",
                  "chunks_done", "index_error", "indexed_at", "created_at", "updated_at", "url"]

    def get_url(self, document) -> str:
        from support.selectors.knowledge import knowledge_document_url

        return knowledge_document_url(document)


class KnowledgeDocumentListApi(APIView):
    """Support agents: list documents with their indexing status (filter by kind, product), or upload
    one (PDF, Markdown, HTML or text; at most 10 MB). The text is extracted by the embed worker; an
    unreadable file ends as index_status failed with the reason in index_error. An upload is published at once only
    when the uploader may publish (support.change_knowledgedocument; admins), else it waits for an admin."""

    permission_classes = [IsSupportAgent, CsrfAlways]
    parser_classes = [MultiPartParser, FormParser]

    class UploadSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        kind = serializers.ChoiceField(choices=DocumentKind.choices)
        product = ProductRefField(queryset=Product.objects.all(), required=False, allow_null=True)
        file = serializers.FileField()

    @extend_schema(responses={200: DocumentSerializer(many=True)})
    def get(self, request):
        paginator = PageNumberPagination()
        ref = request.query_params.get("product")
        product = product_for_ref(ref)
        if ref and product is None:
            raise ValidationError({"product": [f"No product with the slug or id {ref!r}."]})
        documents = knowledge_document_list(kind=request.query_params.get("kind") or None,
                                            product_id=product.pk if product else None)
        page = paginator.paginate_queryset(documents, request, view=self)
        return paginator.get_paginated_response(DocumentSerializer(page, many=True).data)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: DocumentSerializer})
    def post(self, request):
        data = self.UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            document = document_upload(uploaded_by=request.user, uploaded_file=data.validated_data["file"],
                                       title=data.validated_data["title"], kind=data.validated_data["kind"],
                                       product=data.validated_data.get("product"), publish=can_publish_knowledge(request.user))
        except KnowledgeDocumentError as exc:
            raise ValidationError({"file": exc.messages}) from None
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class KnowledgeDocumentDetailApi(APIView):
    """Support agents: one document's indexing status."""

    permission_classes = [IsSupportAgent]

    @extend_schema(responses={200: DocumentSerializer})
    def get(self, request, document_id):
        return Response(DocumentSerializer(get_object_or_404(KnowledgeDocument, pk=document_id)).data)
