select count(*) as n from {{ ref('items') }}
